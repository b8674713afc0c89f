//! Tunes the rating models on MovieLens 100K with training data only: fold 0's training
//! part of the bench's 5-fold split is split again 80/20, and each setting is scored on
//! that inner validation part. Usage:
//! `cargo run --release -p marquee-train --example ml100k_tune -- FOLDER svdpp|knn|svd [key=value ...]`.

use std::time::Instant;

use marquee_train::mf::{
    fit_biased_svd, fit_item_knn, fit_svd_plus_plus, BiasedSvdParams, ItemKnnParams, SvdPlusPlusParams,
};
use marquee_train::Validate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let folder = args.get(1).ok_or("usage: ml100k_tune FOLDER MODEL [key=value ...]")?;
    let text = std::fs::read_to_string(format!("{folder}/ratings.csv"))?;
    let mut users = std::collections::HashMap::new();
    let mut items = std::collections::HashMap::new();
    let mut ratings = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let n = users.len() as u32;
        let u = *users.entry(fields[0].to_owned()).or_insert(n);
        let n = items.len() as u32;
        let i = *items.entry(fields[1].to_owned()).or_insert(n);
        ratings.push((u, i, fields[2].parse::<f32>()?));
    }
    let mut state = 7u64;
    let mut order: Vec<usize> = (0..ratings.len()).collect();
    for index in (1..order.len()).rev() {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        order.swap(index, ((u128::from(state >> 11) * (index as u128 + 1)) >> 53) as usize);
    }
    // Outer fold 0's training part, split again: positions 1..5 mod 5 are training; of
    // those, every fifth is the inner validation part.
    let outer_train: Vec<(u32, u32, f32)> =
        order.iter().enumerate().filter(|(p, _)| p % 5 != 0).map(|(_, &i)| ratings[i]).collect();
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for (position, rating) in outer_train.iter().enumerate() {
        if position % 5 == 0 { &mut valid } else { &mut train }.push(*rating);
    }
    let (n_users, n_items) = (users.len(), items.len());
    let mut by_user: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_users];
    for &(u, i, r) in &train {
        by_user[u as usize].push((i, r));
    }
    let model = args.get(2).map(String::as_str).unwrap_or("svdpp");
    let settings: Vec<(String, f32)> = args[3..]
        .iter()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.parse().unwrap_or(f32::NAN))))
        .collect();
    let get = |key: &str, default: f32| settings.iter().find(|(k, _)| k == key).map_or(default, |(_, v)| *v);
    let started = Instant::now();
    let predict: Box<dyn Fn(usize, usize) -> f32> = match model {
        "svdpp" => {
            let d = SvdPlusPlusParams::default();
            let params = SvdPlusPlusParams {
                factors: get("factors", d.factors as f32) as usize,
                epochs: get("epochs", d.epochs as f32) as usize,
                learning_rate: get("lr", d.learning_rate),
                learning_rate_decay: get("decay", d.learning_rate_decay),
                regularization: get("reg", d.regularization),
                bias_regularization: get("breg", d.bias_regularization),
                init_std: get("init", d.init_std),
                seed: 0,
            };
            let m = fit_svd_plus_plus(&train, n_users, n_items, 1.0, 5.0, &params.validate()?)?;
            let histories: Vec<Vec<u32>> = by_user.iter().map(|r| r.iter().map(|&(i, _)| i).collect()).collect();
            Box::new(move |u, i| m.predict(Some(u), &histories[u], i))
        }
        "svd" => {
            let d = BiasedSvdParams::default();
            let params = BiasedSvdParams {
                factors: get("factors", d.factors as f32) as usize,
                epochs: get("epochs", d.epochs as f32) as usize,
                learning_rate: get("lr", d.learning_rate),
                regularization: get("reg", d.regularization),
                init_std: get("init", d.init_std),
                ..d
            };
            let m = fit_biased_svd(&train, n_users, n_items, 1.0, 5.0, &params.validate()?)?;
            Box::new(move |u, i| m.predict(Some(u), Some(i)))
        }
        _ => {
            let d = ItemKnnParams::default();
            let params = ItemKnnParams {
                k: get("k", d.k as f32) as usize,
                stored_neighbours: get("stored", d.stored_neighbours as f32) as usize,
                shrinkage: get("shrink", d.shrinkage),
                item_regularization: get("ireg", d.item_regularization),
                user_regularization: get("ureg", d.user_regularization),
                ..d
            };
            let m = fit_item_knn(&train, n_users, n_items, 1.0, 5.0, &params.validate()?)?;
            let by_user = by_user.clone();
            Box::new(move |u, i| m.predict(Some(u), &by_user[u], i))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let sq: f64 = valid.iter().map(|&(u, i, r)| f64::from(predict(u as usize, i as usize) - r).powi(2)).sum();
    println!(
        "{model} {:?}: inner-validation RMSE {:.4}, fit {seconds:.4} s",
        settings,
        (sq / valid.len() as f64).sqrt()
    );
    Ok(())
}

//! Tunes the hybrid on MovieLens 100K with training data only: the training half of the
//! split `marquee compare` uses is split again the same way (latest 20% of each user's
//! history, 10% of users cold), the hybrid is fitted on the inner training part and scored
//! on the inner test part, next to its best component on ML-100K (EASE) fitted on the same
//! part, on three inner splits and on average. The test half is never read. Usage:
//! `cargo run --release -p marquee-train --example ml100k_hybrid_tune -- FOLDER ['{"json": "patch"}']`,
//! where the optional JSON object overrides `HybridParams` fields (missing ones keep their
//! defaults), e.g. `'{"negatives_per_user": 200}'`; `ml100k_hybrid_tune --defaults` prints
//! every field with its default.

use std::time::Instant;

use marquee_data::store::Store;
use marquee_data::RatingScale;
use marquee_model::recommend::RerankParams;
use marquee_train::evaluate::models::{Hybrid, ListModel, Neighbours, SeenMovies};
use marquee_train::evaluate::{evaluate_model, EvaluationParams};
use marquee_train::recommend::{
    fit_hybrid, time_split, HybridParams, Interactions, NeighbourMethod, NeighbourParams, SplitParams,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let folder = args.get(1).ok_or("usage: ml100k_hybrid_tune FOLDER [JSON]")?;
    if folder == "--defaults" {
        // Every field and its default, to copy from: a nested object given in the JSON
        // replaces the whole default of that field, not only the keys it names.
        println!("{}", serde_json::to_string_pretty(&HybridParams::default())?);
        return Ok(());
    }
    let params: HybridParams = serde_json::from_str(args.get(2).map_or("{}", String::as_str))?;
    let mut store = Store::open_in_memory()?;
    for source in &marquee_data::source::detect(std::path::Path::new(folder))? {
        store.ingest_source(source, RatingScale::new(5).ok_or("the five-star scale")?, |_| {})?;
    }
    let data = Interactions::from_store(&store)?;
    let outer = time_split(&data, &SplitParams::default())?;
    // The training half as a data set of its own, split again as `compare` splits.
    let mut training_half = data.clone();
    training_half.events = outer.train;
    // Three inner splits, each fitted and scored: one split's NDCG moves by a few percent
    // with the draw of its cold users alone.
    let evaluation = EvaluationParams::default();
    let mut sums = [(0.0, 0.0, 0.0); 3];
    let started = Instant::now();
    const SPLITS: u64 = 3;
    for seed in 1..=SPLITS {
        let inner = time_split(&training_half, &SplitParams { seed, ..SplitParams::default() })?;
        let fitted = fit_hybrid(&training_half, &inner.train, &params)?;
        let ease = Neighbours::fit(
            &training_half,
            &inner.train,
            SeenMovies::new(training_half.users.len(), &inner.train),
            NeighbourParams { method: NeighbourMethod::Ease, ..params.neighbours },
        )?;
        let no_rerank = Hybrid { fitted: &fitted, rerank: RerankParams::off(), label: "no rerank" };
        let served = Hybrid { fitted: &fitted, rerank: *fitted.recommender.rerank_params(), label: "served" };
        let models: [&dyn ListModel; 3] = [&no_rerank, &served, &ease];
        for (sum, model) in sums.iter_mut().zip(models) {
            let label = model.name();
            let report = evaluate_model(model, &training_half, &inner, &evaluation);
            let (all, warm) = (&report.ranking, &report.warm_users);
            println!(
                "split {seed} {label:>18}: NDCG@20 {:.4} (warm {:.4}), coverage {:.3}",
                all.ndcg, warm.ndcg, report.exposure.coverage
            );
            sum.0 += all.ndcg / SPLITS as f64;
            sum.1 += warm.ndcg / SPLITS as f64;
            sum.2 += report.exposure.coverage / SPLITS as f64;
        }
    }
    for (label, (ndcg, warm, coverage)) in ["no rerank", "served", "ease"].iter().zip(sums) {
        println!("mean {label:>18}: NDCG@20 {ndcg:.4} (warm {warm:.4}), coverage {coverage:.3}");
    }
    println!("served / ease: {:.3}", sums[1].0 / sums[2].0);
    println!("{:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

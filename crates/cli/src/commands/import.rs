//! `marquee import xgboost MODEL.json --out MODEL`

use std::path::PathBuf;

use anyhow::{Context, Result};
use marquee_model::gbdt::Predictor;

/// Models from other engines.
#[derive(clap::Subcommand)]
pub enum ImportCommand {
    /// Convert a model saved by XGBoost as JSON into a Marquee blob.
    Xgboost(XgboostArgs),
}

#[derive(clap::Args)]
pub struct XgboostArgs {
    /// The XGBoost model, saved with `booster.save_model("model.json")`.
    model: PathBuf,
    /// Where to write the Marquee blob.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(command: ImportCommand) -> Result<()> {
    let ImportCommand::Xgboost(args) = command;
    let text = std::fs::read_to_string(&args.model).with_context(|| format!("reading {}", args.model.display()))?;
    let ensemble = marquee_train::import_xgboost::import_xgboost_json(&text)
        .with_context(|| format!("importing {}", args.model.display()))?;
    let blob = ensemble.to_blob()?;
    // Loading the blob back proves it is valid before anyone is told it was written.
    Predictor::from_blob(&blob)?;
    super::gbdt::write_file(&args.out, &blob)?;
    println!(
        "imported {} trees ({:?}, {} features) into {} ({} bytes; the JSON was {} bytes)",
        ensemble.trees.len(),
        ensemble.objective,
        ensemble.schema.len(),
        args.out.display(),
        blob.len(),
        text.len()
    );
    Ok(())
}

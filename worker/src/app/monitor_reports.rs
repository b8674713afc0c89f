//! `PUT|GET /v1/admin/monitor/{drift|fairness}`: the latest health report of each kind, as
//! `marquee drift --publish` and `marquee fairness --publish` send it. The edge validates
//! and keeps it; `/metrics` exports its gauges for the alert rules and the admin UI shows it.

use marquee_data::monitor::{DriftSummary, FairnessSummary};

use super::error::AppError;
use super::queries::{self, ReportKind};
use super::storage::Storage;
use super::{Call, Response};

/// The largest report accepted: a summary of at most 200 entries is well under this.
pub(super) const MAX_REPORT_BYTES: usize = 256 << 10;

/// The `{kind}` of the path.
fn report_kind<S: Storage>(call: &Call<'_, S>) -> Result<ReportKind, AppError> {
    match call.params.get("kind") {
        "drift" => Ok(ReportKind::Drift),
        "fairness" => Ok(ReportKind::Fairness),
        _ => Err(AppError::NotFound),
    }
}

/// `PUT /v1/admin/monitor/{kind}`: validates the summary and replaces the stored one.
pub(super) async fn put_report<S: Storage>(call: &Call<'_, S>) -> Result<Response, AppError> {
    let kind = report_kind(call)?;
    let body = &call.request.body;
    if body.len() > MAX_REPORT_BYTES {
        return Err(AppError::TooLarge { limit: MAX_REPORT_BYTES });
    }
    let invalid = |error: String| AppError::Unprocessable(format!("invalid {} report: {error}", kind.as_str()));
    // Parsed, validated and stored re-serialised, so what /metrics later reads is known good.
    let canonical = match kind {
        ReportKind::Drift => {
            let summary: DriftSummary = serde_json::from_slice(body).map_err(|error| invalid(error.to_string()))?;
            summary.validate().map_err(|error| invalid(error.to_string()))?;
            serde_json::to_string(&summary)
        }
        ReportKind::Fairness => {
            let summary: FairnessSummary = serde_json::from_slice(body).map_err(|error| invalid(error.to_string()))?;
            summary.validate().map_err(|error| invalid(error.to_string()))?;
            serde_json::to_string(&summary)
        }
    }
    .map_err(|error| AppError::Unavailable(error.to_string()))?;
    call.storage.execute(&[queries::write_report(kind, canonical, call.now() as i64)]).await?;
    Ok(Response::json(200, &serde_json::json!({ "stored": kind.as_str() })))
}

/// `GET /v1/admin/monitor/{kind}`: the stored summary, or 404 before any was published.
pub(super) async fn get_report<S: Storage>(call: &Call<'_, S>) -> Result<Response, AppError> {
    let kind = report_kind(call)?;
    let stored = queries::reports(call.storage).await?.into_iter().find(|report| report.kind == kind.as_str());
    let Some(stored) = stored else {
        return Err(AppError::Missing(format!("no {} report has been published yet", kind.as_str())));
    };
    let body: serde_json::Value =
        serde_json::from_str(&stored.body).map_err(|error| AppError::Unavailable(error.to_string()))?;
    Ok(Response::json(200, &serde_json::json!({ "stored_ms": stored.stored_ms, "report": body })))
}

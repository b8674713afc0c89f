//! Publishing from the browser: a models folder picked from disk is checked here, with
//! `marquee-model`'s own loaders, before a byte is sent. Every file gets a report line; one
//! refused file refuses the whole folder, so the edge never holds half a version.

use marquee_model::blob::{read_header, BlobKind};
use marquee_model::manifest::{Manifest, MANIFEST_FILE};
use marquee_model::recommend::{ProfileShard, Recommender};

/// One file picked from disk: its path inside the picked folder and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct PickedFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What the check found about one file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileReport {
    pub path: String,
    pub bytes: usize,
    /// The blob kind from its header ("manifest" for the manifest).
    pub kind: String,
    /// The header's hash, as 16 hex digits: the feature schema's for a recommender, the
    /// catalog fingerprint it was built for for a profile shard.
    pub hash: Option<String>,
    /// What it holds: movies and trees, or shard position and profiles.
    pub detail: String,
    /// `Err` with the loader's message when the file is refused.
    pub verdict: Result<(), String>,
}

/// A folder that passed every check: what to upload, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishPlan {
    pub version: String,
    pub manifest: Manifest,
    pub recommender: Vec<u8>,
    /// The profile shards, in shard order.
    pub shards: Vec<Vec<u8>>,
}

/// The outcome of checking a folder.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderCheck {
    pub reports: Vec<FileReport>,
    /// The plan, or why the folder as a whole is refused.
    pub plan: Result<PublishPlan, String>,
}

/// Strips the picked folder's own name (`models/recommender.blob` → `recommender.blob`) when
/// every file shares it, as a directory picker reports paths.
fn relative_paths(files: &[PickedFile]) -> Vec<String> {
    let root = files.first().and_then(|file| file.path.split_once('/')).map(|(root, _)| root.to_owned());
    let shared = root.filter(|root| files.iter().all(|file| file.path.starts_with(&format!("{root}/"))));
    files
        .iter()
        .map(|file| match &shared {
            Some(root) => file.path[root.len() + 1..].to_owned(),
            None => file.path.clone(),
        })
        .collect()
}

/// Finds the file the manifest calls `wanted`: by its relative path, else by its file name
/// (when single files were picked rather than a folder).
fn find<'a>(files: &'a [PickedFile], paths: &[String], wanted: &str) -> Option<&'a PickedFile> {
    let name = wanted.rsplit('/').next().unwrap_or(wanted);
    let by_path = paths.iter().position(|path| path == wanted);
    by_path
        .or_else(|| paths.iter().position(|path| path.rsplit('/').next() == Some(name)))
        .and_then(|index| files.get(index))
}

fn hex(value: u64) -> String {
    format!("{value:016x}")
}

fn report(path: &str, bytes: usize, kind: &str) -> FileReport {
    FileReport {
        path: path.to_owned(),
        bytes,
        kind: kind.to_owned(),
        hash: None,
        detail: String::new(),
        verdict: Ok(()),
    }
}

/// Checks a picked models folder: the manifest, the recommender and every profile shard it
/// lists, each loaded with the model crate. Files the manifest does not name are ignored
/// (and reported as such).
pub fn check_folder(files: &[PickedFile]) -> FolderCheck {
    let paths = relative_paths(files);
    let mut reports = Vec::new();
    let refuse = |reports: Vec<FileReport>, why: String| FolderCheck { reports, plan: Err(why) };

    let Some(manifest_file) = find(files, &paths, MANIFEST_FILE) else {
        return refuse(reports, format!("no {MANIFEST_FILE}: pick the folder `marquee train --out` wrote"));
    };
    let mut manifest_report = report(MANIFEST_FILE, manifest_file.bytes.len(), "manifest");
    let manifest: Manifest = match serde_json::from_slice(&manifest_file.bytes) {
        Ok(manifest) => manifest,
        Err(error) => {
            manifest_report.verdict = Err(format!("not a marquee train manifest: {error}"));
            reports.push(manifest_report);
            return refuse(reports, format!("{MANIFEST_FILE} cannot be read"));
        }
    };
    manifest_report.detail = format!(
        "version {}, {} users, {} movies, {} shards",
        manifest.version, manifest.users, manifest.movies, manifest.shard_count
    );
    reports.push(manifest_report);

    // The recommender first: every shard is checked against its catalog.
    let recommender_path = manifest.recommender.path.clone();
    let recommender_file = find(files, &paths, &recommender_path);
    let mut recommender_report =
        report(&recommender_path, recommender_file.map_or(0, |file| file.bytes.len()), "recommender");
    let recommender = match recommender_file {
        None => Err("missing from the picked files".to_owned()),
        Some(file) => check_recommender(file, &manifest, &mut recommender_report),
    };
    if let Err(why) = &recommender {
        recommender_report.verdict = Err(why.clone());
    }
    reports.push(recommender_report);

    let mut shards = Vec::new();
    let mut refused = reports.iter().filter(|report| report.verdict.is_err()).count();
    if manifest.profile_shards.len() != manifest.shard_count as usize {
        refused += 1;
    }
    for (number, listed) in manifest.profile_shards.iter().enumerate() {
        let file = find(files, &paths, &listed.path);
        let mut shard_report = report(&listed.path, file.map_or(0, |file| file.bytes.len()), "profile shard");
        let verdict = match (file, &recommender) {
            (None, _) => Err("missing from the picked files".to_owned()),
            (Some(_), Err(_)) => Err("not checked: the recommender was refused".to_owned()),
            (Some(file), Ok(recommender)) => {
                check_shard(file, number as u32, listed.bytes, recommender, &mut shard_report).map(|()| file)
            }
        };
        match verdict {
            Ok(file) => shards.push(file.bytes.clone()),
            Err(why) => {
                refused += 1;
                shard_report.verdict = Err(why);
            }
        }
        reports.push(shard_report);
    }
    for (file, path) in files.iter().zip(&paths) {
        let named = path == MANIFEST_FILE
            || reports
                .iter()
                .any(|report| report.path == *path || path.rsplit('/').next() == report.path.rsplit('/').next());
        if !named {
            let mut ignored = report(path, file.bytes.len(), "ignored");
            ignored.detail = "not named by the manifest: not uploaded".into();
            reports.push(ignored);
        }
    }
    match recommender {
        Ok(_) if refused == 0 => {
            let recommender = recommender_file.map(|file| file.bytes.clone()).unwrap_or_default();
            let version = manifest.version.clone();
            FolderCheck { reports, plan: Ok(PublishPlan { version, manifest, recommender, shards }) }
        }
        _ if manifest.profile_shards.len() != manifest.shard_count as usize => refuse(
            reports,
            format!("the manifest lists {} shards but says {}", manifest.profile_shards.len(), manifest.shard_count),
        ),
        _ => refuse(reports, format!("{refused} file(s) refused: nothing will be uploaded")),
    }
}

fn check_recommender(file: &PickedFile, manifest: &Manifest, report: &mut FileReport) -> Result<Recommender, String> {
    let listed_bytes = manifest.recommender.bytes;
    let header = read_header(&file.bytes).map_err(|error| error.to_string())?;
    report.hash = Some(hex(header.schema_hash));
    if header.kind != BlobKind::Recommender.code() {
        return Err(format!("a blob of kind {}, not a recommender (kind 3)", header.kind));
    }
    let recommender = Recommender::from_blob(&file.bytes).map_err(|error| error.to_string())?;
    report.detail = format!(
        "format {}, {} movies, {} ranker trees{}, {} shards, catalog {}",
        header.version,
        recommender.catalog().len(),
        recommender.ranker().ensemble().trees.len(),
        recommender
            .rating_head()
            .map(|head| format!(" + {} rating-head trees", head.ensemble().trees.len()))
            .unwrap_or_default(),
        recommender.shard_count(),
        hex(recommender.fingerprint()),
    );
    if file.bytes.len() != listed_bytes {
        return Err(format!("{} bytes, but the manifest says {listed_bytes}", file.bytes.len()));
    }
    // Users of a shard the manifest does not list would silently be served cold lists.
    if recommender.shard_count() != manifest.shard_count {
        return Err(format!(
            "the recommender splits users into {} shards, the manifest lists {}",
            recommender.shard_count(),
            manifest.shard_count
        ));
    }
    Ok(recommender)
}

fn check_shard(
    file: &PickedFile,
    number: u32,
    listed_bytes: usize,
    recommender: &Recommender,
    report: &mut FileReport,
) -> Result<(), String> {
    let header = read_header(&file.bytes).map_err(|error| error.to_string())?;
    report.hash = Some(hex(header.schema_hash));
    if header.kind != BlobKind::ProfileShard.code() {
        return Err(format!("a blob of kind {}, not a profile shard (kind 4)", header.kind));
    }
    let shard = ProfileShard::from_blob(&file.bytes).map_err(|error| error.to_string())?;
    let (position, of) = shard.position();
    report.detail = format!("shard {position} of {of}, {} profiles", shard.len());
    if shard.catalog_fingerprint() != recommender.fingerprint() {
        return Err(format!(
            "built for catalog {}, but the recommender's is {}",
            hex(shard.catalog_fingerprint()),
            hex(recommender.fingerprint())
        ));
    }
    if (position, of) != (number, recommender.shard_count()) {
        return Err(format!(
            "the blob is shard {position} of {of}, the manifest lists it as shard {number} of {}",
            recommender.shard_count()
        ));
    }
    if file.bytes.len() != listed_bytes {
        return Err(format!("{} bytes, but the manifest says {listed_bytes}", file.bytes.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<PickedFile> {
        let file = |path: &str, bytes: &[u8]| PickedFile { path: format!("tiny-model/{path}"), bytes: bytes.to_vec() };
        vec![
            file("manifest.json", include_bytes!("../tests/fixtures/tiny-model/manifest.json")),
            file("params.json", include_bytes!("../tests/fixtures/tiny-model/params.json")),
            file("recommender.blob", include_bytes!("../tests/fixtures/tiny-model/recommender.blob")),
            file("profiles/00000.blob", include_bytes!("../tests/fixtures/tiny-model/profiles/00000.blob")),
            file("profiles/00001.blob", include_bytes!("../tests/fixtures/tiny-model/profiles/00001.blob")),
        ]
    }

    #[test]
    fn the_trained_folder_passes_and_plans_every_blob_in_order() {
        let check = check_folder(&fixture());
        let plan = check.plan.expect("the fixture is a valid folder");
        assert_eq!(plan.version, plan.manifest.version);
        assert_eq!(plan.shards.len(), 2);
        assert!(check.reports.iter().all(|report| report.verdict.is_ok()), "{:?}", check.reports);
        let recommender = check.reports.iter().find(|report| report.kind == "recommender").unwrap();
        assert!(recommender.detail.contains("200 movies"), "{}", recommender.detail);
        assert!(check.reports.iter().any(|report| report.kind == "ignored" && report.path == "params.json"));
    }

    #[test]
    fn single_files_are_matched_by_name() {
        let flat: Vec<PickedFile> = fixture()
            .into_iter()
            .map(|file| PickedFile { path: file.path.rsplit('/').next().unwrap().to_owned(), bytes: file.bytes })
            .collect();
        assert!(check_folder(&flat).plan.is_ok());
    }

    #[test]
    fn a_corrupt_shard_refuses_the_whole_folder_with_the_loaders_message() {
        let mut files = fixture();
        let last = files[4].bytes.len() - 1;
        files[4].bytes[last] ^= 0xff;
        let check = check_folder(&files);
        assert!(check.plan.is_err());
        let shard = check.reports.iter().find(|report| report.path == "profiles/00001.blob").unwrap();
        assert!(shard.verdict.as_ref().unwrap_err().contains("checksum"), "{:?}", shard.verdict);
    }

    #[test]
    fn a_shard_of_another_model_or_position_is_refused() {
        let mut files = fixture();
        files.swap(3, 4);
        files[3].path = "tiny-model/profiles/00000.blob".into();
        files[4].path = "tiny-model/profiles/00001.blob".into();
        let check = check_folder(&files);
        assert!(check.plan.is_err());
        assert!(check.reports.iter().any(|report| matches!(&report.verdict, Err(why) if why.contains("shard 1 of 2"))));
    }

    #[test]
    fn a_manifest_that_drops_a_shard_is_refused() {
        let mut files = fixture();
        let mut manifest: Manifest = serde_json::from_slice(&files[0].bytes).unwrap();
        manifest.shard_count = 1;
        manifest.profile_shards.truncate(1);
        files[0].bytes = serde_json::to_vec(&manifest).unwrap();
        let check = check_folder(&files);
        assert!(check.plan.is_err());
        let recommender = check.reports.iter().find(|report| report.kind == "recommender").unwrap();
        assert!(recommender.verdict.as_ref().unwrap_err().contains("2 shards"), "{:?}", recommender.verdict);
    }

    #[test]
    fn a_truncated_recommender_or_missing_manifest_is_refused() {
        let mut files = fixture();
        files[2].bytes.truncate(20);
        let check = check_folder(&files);
        assert!(check.plan.is_err());
        assert!(check.reports.iter().filter(|report| report.verdict.is_err()).count() >= 3);
        let no_manifest: Vec<PickedFile> = fixture().into_iter().skip(1).collect();
        assert!(check_folder(&no_manifest).plan.unwrap_err().contains("manifest.json"));
        let mut wrong_kind = fixture();
        wrong_kind[2].bytes = wrong_kind[3].bytes.clone();
        let check = check_folder(&wrong_kind);
        let recommender = check.reports.iter().find(|report| report.kind == "recommender").unwrap();
        assert!(recommender.verdict.as_ref().unwrap_err().contains("not a recommender"));
    }
}

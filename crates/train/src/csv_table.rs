//! Reading any CSV table for the generic `marquee gbdt` commands: numeric columns as
//! features (empty, `NA`, `nan` = missing), integer-coded categorical columns on request,
//! a target column and an optional query-group column.

use std::path::Path;

use marquee_model::gbdt::{Feature, FeatureKind, FeatureSchema};

use crate::TrainError;

/// A CSV file read into row-major features.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvTable {
    pub schema: FeatureSchema,
    /// Row-major, `rows × schema.len()`; NaN is missing.
    pub features: Vec<f32>,
    pub rows: usize,
    /// The target column, when one was asked for.
    pub target: Option<Vec<f32>>,
    /// Sizes of consecutive query groups, when a group column was asked for.
    pub groups: Option<Vec<u32>>,
}

/// Which columns play which part.
#[derive(Clone, Debug, Default)]
pub struct CsvRoles<'a> {
    /// The label column (required for training and evaluation).
    pub target: Option<&'a str>,
    /// The query-group column for ranking: rows of one group must be consecutive.
    pub group: Option<&'a str>,
    /// Integer-coded columns to treat as categorical (codes 0, 1, 2, ...).
    pub categorical: &'a [String],
}

/// Reads a training table: every column but the target and group is a feature.
pub fn read_training_csv(path: &Path, roles: &CsvRoles<'_>) -> Result<CsvTable, TrainError> {
    read(path, roles, None)
}

/// Reads the columns a model's schema names (in the schema's order), ignoring the others.
pub fn read_features_csv(path: &Path, schema: &FeatureSchema, roles: &CsvRoles<'_>) -> Result<CsvTable, TrainError> {
    read(path, roles, Some(schema))
}

fn read(path: &Path, roles: &CsvRoles<'_>, schema: Option<&FeatureSchema>) -> Result<CsvTable, TrainError> {
    let invalid = |reason: String| TrainError::InvalidData(format!("{}: {reason}", path.display()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|error| invalid(format!("cannot read: {error}")))?;
    let headers: Vec<String> =
        reader.headers().map_err(|error| invalid(error.to_string()))?.iter().map(str::to_owned).collect();
    let columns = Columns::choose(&headers, roles, schema).map_err(invalid)?;
    let records = read_records(&mut reader, &headers, &columns, roles).map_err(invalid)?;
    if records.rows == 0 {
        return Err(invalid("no rows".into()));
    }
    let schema = match schema {
        Some(schema) => schema.clone(),
        None => inferred_schema(&headers, &columns.features, &records.max_code, roles),
    };
    let groups = columns.group.map(|_| group_sizes(&records.group_ids)).transpose().map_err(invalid)?;
    Ok(CsvTable { schema, features: records.features, rows: records.rows, target: records.target, groups })
}

/// Which column plays which part.
struct Columns {
    target: Option<usize>,
    group: Option<usize>,
    /// The feature columns, in feature order.
    features: Vec<usize>,
    /// Each feature's kind when a schema gave it.
    kinds: Vec<Option<FeatureKind>>,
}

impl Columns {
    /// Finds every named column; the features are the schema's, or every other column in
    /// file order.
    fn choose(headers: &[String], roles: &CsvRoles<'_>, schema: Option<&FeatureSchema>) -> Result<Columns, String> {
        let find = |name: &str| {
            headers
                .iter()
                .position(|header| header == name)
                .ok_or_else(|| format!("no column named {name:?} (columns: {})", headers.join(", ")))
        };
        let target = roles.target.map(find).transpose()?;
        let group = roles.group.map(find).transpose()?;
        for name in roles.categorical {
            find(name)?;
        }
        let (features, kinds) = match schema {
            Some(schema) => {
                let columns =
                    schema.features.iter().map(|feature| find(&feature.name)).collect::<Result<Vec<_>, _>>()?;
                (columns, schema.features.iter().map(|feature| Some(feature.kind)).collect())
            }
            None => {
                let columns: Vec<usize> =
                    (0..headers.len()).filter(|&column| Some(column) != target && Some(column) != group).collect();
                let kinds = columns.iter().map(|_| None).collect();
                (columns, kinds)
            }
        };
        if features.is_empty() {
            return Err("no feature columns".into());
        }
        Ok(Columns { target, group, features, kinds })
    }
}

/// The cells of every record, parsed.
struct Records {
    /// Row-major features; NaN is missing.
    features: Vec<f32>,
    target: Option<Vec<f32>>,
    /// Each row's group id, when there is a group column.
    group_ids: Vec<String>,
    /// The largest category code seen per feature.
    max_code: Vec<u32>,
    rows: usize,
}

fn read_records(
    reader: &mut csv::Reader<std::fs::File>,
    headers: &[String],
    columns: &Columns,
    roles: &CsvRoles<'_>,
) -> Result<Records, String> {
    let mut records = Records {
        features: Vec::new(),
        target: columns.target.map(|_| Vec::new()),
        group_ids: Vec::new(),
        max_code: vec![0u32; columns.features.len()],
        rows: 0,
    };
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|error| format!("line {line}: {error}"))?;
        for (slot, &column) in columns.features.iter().enumerate() {
            let name = &headers[column];
            let categorical = roles.categorical.iter().any(|wanted| wanted == name)
                || matches!(columns.kinds[slot], Some(FeatureKind::Categorical { .. }));
            let value = feature_cell(record.get(column).unwrap_or(""), line, name, categorical)?;
            if categorical && !value.is_nan() {
                records.max_code[slot] = records.max_code[slot].max(value as u32);
            }
            records.features.push(value);
        }
        if let (Some(column), Some(target)) = (columns.target, records.target.as_mut()) {
            let cell = record.get(column).unwrap_or("");
            match parse_cell(cell) {
                Some(value) if value.is_finite() => target.push(value),
                _ => return Err(format!("line {line}: target {cell:?} is not a number")),
            }
        }
        if let Some(column) = columns.group {
            records.group_ids.push(record.get(column).unwrap_or("").to_owned());
        }
        records.rows += 1;
    }
    Ok(records)
}

/// A feature cell's value; a categorical one must be a code 0, 1, 2, ... (or missing).
fn feature_cell(cell: &str, line: usize, name: &str, categorical: bool) -> Result<f32, String> {
    let value = parse_cell(cell).ok_or_else(|| {
        format!(
            "line {line}, column {name:?}: {cell:?} is not a number. Encode categories as integers 0, 1, 2, ... \
             and pass --categorical {name}"
        )
    })?;
    if categorical && !value.is_nan() && (value < 0.0 || value.fract() != 0.0 || value > 1e6) {
        return Err(format!("line {line}, column {name:?}: category {cell:?} is not a code 0, 1, 2, ..."));
    }
    Ok(value)
}

/// A training file's schema: numeric features, and the categorical ones declared with one
/// category more than the largest code seen.
fn inferred_schema(headers: &[String], features: &[usize], max_code: &[u32], roles: &CsvRoles<'_>) -> FeatureSchema {
    FeatureSchema {
        features: features
            .iter()
            .zip(max_code)
            .map(|(&column, &max)| {
                let name = headers[column].clone();
                let kind = if roles.categorical.contains(&name) {
                    FeatureKind::Categorical { categories: max + 1 }
                } else {
                    FeatureKind::Numeric
                };
                Feature { name, kind }
            })
            .collect(),
    }
}

/// A number, or NaN for a missing cell; None for text.
fn parse_cell(cell: &str) -> Option<f32> {
    let cell = cell.trim();
    if cell.is_empty()
        || cell.eq_ignore_ascii_case("na")
        || cell.eq_ignore_ascii_case("nan")
        || cell.eq_ignore_ascii_case("null")
    {
        return Some(f32::NAN);
    }
    cell.parse().ok()
}

/// Sizes of runs of equal group ids; a group that reappears later is an error.
fn group_sizes(ids: &[String]) -> Result<Vec<u32>, String> {
    let mut sizes: Vec<u32> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut previous: Option<&str> = None;
    for (index, id) in ids.iter().enumerate() {
        if previous == Some(id.as_str()) {
            if let Some(last) = sizes.last_mut() {
                *last += 1;
            }
            continue;
        }
        if !seen.insert(id.as_str()) {
            return Err(format!(
                "line {}: group {id:?} appears again after other groups; sort rows by group",
                index + 2
            ));
        }
        sizes.push(1);
        previous = Some(id);
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("a temp file");
        std::fs::write(file.path(), text).expect("write it");
        file
    }

    #[test]
    fn reads_features_target_groups_and_categories() {
        let file = write("q,age,genre,y\n1,30,2,1\n1,,0,0\n2,41,1,3\n");
        let categorical = vec!["genre".to_owned()];
        let roles = CsvRoles { target: Some("y"), group: Some("q"), categorical: &categorical };
        let table = read_training_csv(file.path(), &roles).unwrap();
        assert_eq!(table.rows, 3);
        assert_eq!(table.schema.features[0].name, "age");
        assert_eq!(table.schema.features[1].kind, FeatureKind::Categorical { categories: 3 });
        assert!(table.features[2].is_nan());
        assert_eq!(table.target, Some(vec![1.0, 0.0, 3.0]));
        assert_eq!(table.groups, Some(vec![2, 1]));

        // Predicting reads the schema's columns by name, in the schema's order.
        let file = write("genre,extra,age\n1,x,50\n");
        let read = read_features_csv(file.path(), &table.schema, &CsvRoles::default()).unwrap();
        assert_eq!(read.features, vec![50.0, 1.0]);
    }

    #[test]
    fn text_columns_and_bad_rows_get_clear_errors() {
        let file = write("title,y\nheat,1\n");
        let error = read_training_csv(file.path(), &CsvRoles { target: Some("y"), ..CsvRoles::default() }).unwrap_err();
        assert!(error.to_string().contains("--categorical title"), "{error}");
        let file = write("a,y\n1,x\n");
        assert!(read_training_csv(file.path(), &CsvRoles { target: Some("y"), ..CsvRoles::default() }).is_err());
        let file = write("a,y\n1,2\n");
        assert!(read_training_csv(file.path(), &CsvRoles { target: Some("label"), ..CsvRoles::default() }).is_err());
        let file = write("q,a,y\n1,1,1\n2,1,1\n1,1,1\n");
        let error =
            read_training_csv(file.path(), &CsvRoles { target: Some("y"), group: Some("q"), ..CsvRoles::default() })
                .unwrap_err();
        assert!(error.to_string().contains("appears again"), "{error}");
    }
}

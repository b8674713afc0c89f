//! The training input: row-major features, labels and optional query groups.

use std::ops::Range;

use marquee_model::gbdt::FeatureSchema;

use crate::TrainError;

/// Training data: row-major `f32` features (NaN means missing), one label per row and, for
/// ranking, query groups.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The columns, shared with the trained ensemble.
    pub schema: FeatureSchema,
    /// `rows × schema.len()` values, row after row.
    pub features: Vec<f32>,
    /// One finite label per row.
    pub labels: Vec<f32>,
    /// Sizes of consecutive query groups, summing to the row count.
    pub groups: Option<Vec<u32>>,
}

impl Table {
    /// Builds a table after checking that the lengths agree, labels are finite and the
    /// groups tile the rows.
    pub fn new(
        schema: FeatureSchema,
        features: Vec<f32>,
        labels: Vec<f32>,
        groups: Option<Vec<u32>>,
    ) -> Result<Table, TrainError> {
        let table = Table { schema, features, labels, groups };
        table.check()?;
        Ok(table)
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// The features of row `index`, or `None` past the end.
    pub fn row(&self, index: usize) -> Option<&[f32]> {
        let width = self.schema.len();
        self.features.get(index * width..(index + 1) * width)
    }

    /// The checks of [`Table::new`]; `train` repeats them because the fields are public.
    pub(crate) fn check(&self) -> Result<(), TrainError> {
        let expected = self.rows().checked_mul(self.schema.len()).ok_or(TrainError::LengthMismatch {
            what: "features",
            expected: usize::MAX,
            got: self.features.len(),
        })?;
        if self.features.len() != expected {
            return Err(TrainError::LengthMismatch { what: "features", expected, got: self.features.len() });
        }
        if let Some(row) = self.labels.iter().position(|label| !label.is_finite()) {
            return Err(TrainError::InvalidLabel { row, value: self.labels[row], reason: "labels must be finite" });
        }
        if let Some(groups) = &self.groups {
            if groups.contains(&0) {
                return Err(TrainError::InvalidGroups("a group is empty".into()));
            }
            let total: u64 = groups.iter().map(|&size| u64::from(size)).sum();
            if total != self.rows() as u64 {
                return Err(TrainError::InvalidGroups(format!(
                    "group sizes sum to {total}, but the table has {} rows",
                    self.rows()
                )));
            }
        }
        Ok(())
    }

    /// The row ranges of the query groups, if any.
    pub(crate) fn group_ranges(&self) -> Option<Vec<Range<usize>>> {
        self.groups.as_ref().map(|groups| group_ranges(groups))
    }
}

/// Consecutive row ranges from group sizes.
pub(crate) fn group_ranges(sizes: &[u32]) -> Vec<Range<usize>> {
    let mut start = 0;
    sizes
        .iter()
        .map(|&size| {
            let range = start..start + size as usize;
            start = range.end;
            range
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_lengths_labels_and_groups() {
        let schema = FeatureSchema::numeric(["a", "b"]);
        let ok = Table::new(schema.clone(), vec![0.0; 6], vec![1.0, 2.0, 3.0], Some(vec![1, 2])).unwrap();
        assert_eq!(ok.rows(), 3);
        assert_eq!(ok.row(2), Some(&[0.0, 0.0][..]));
        assert_eq!(ok.group_ranges().unwrap(), vec![0..1, 1..3]);
        assert!(matches!(
            Table::new(schema.clone(), vec![0.0; 5], vec![1.0, 2.0, 3.0], None),
            Err(TrainError::LengthMismatch { .. })
        ));
        assert!(matches!(
            Table::new(schema.clone(), vec![0.0; 6], vec![1.0, f32::NAN, 3.0], None),
            Err(TrainError::InvalidLabel { row: 1, .. })
        ));
        assert!(matches!(
            Table::new(schema.clone(), vec![0.0; 6], vec![1.0; 3], Some(vec![1, 1])),
            Err(TrainError::InvalidGroups(_))
        ));
        assert!(matches!(
            Table::new(schema, vec![0.0; 6], vec![1.0; 3], Some(vec![0, 3])),
            Err(TrainError::InvalidGroups(_))
        ));
    }
}

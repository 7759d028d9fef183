//! Geographic coordinates of venues.

use super::field::FieldError;

/// A WGS 84 position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    /// Degrees north, −90 to 90.
    pub latitude: f64,
    /// Degrees east, −180 to 180.
    pub longitude: f64,
}

impl Position {
    /// Checks a latitude/longitude pair: both or neither, each in range.
    pub fn parse(latitude: Option<f64>, longitude: Option<f64>) -> Result<Option<Self>, Vec<FieldError>> {
        match (latitude, longitude) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(vec![FieldError::new(
                "longitude",
                "required",
                "goes together with latitude",
            )]),
            (None, Some(_)) => Err(vec![FieldError::new(
                "latitude",
                "required",
                "goes together with longitude",
            )]),
            (Some(latitude), Some(longitude)) => {
                let mut problems = Vec::new();
                if !(-90.0..=90.0).contains(&latitude) {
                    problems.push(FieldError::new(
                        "latitude",
                        "out_of_range",
                        "must be between -90 and 90",
                    ));
                }
                if !(-180.0..=180.0).contains(&longitude) {
                    problems.push(FieldError::new(
                        "longitude",
                        "out_of_range",
                        "must be between -180 and 180",
                    ));
                }
                if problems.is_empty() {
                    Ok(Some(Self { latitude, longitude }))
                } else {
                    Err(problems)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_come_in_pairs_and_in_range() {
        assert!(Position::parse(Some(34.6), Some(119.2)).unwrap().is_some());
        assert!(Position::parse(None, None).unwrap().is_none());
        assert_eq!(Position::parse(Some(34.6), None).unwrap_err()[0].field, "longitude");
        assert_eq!(Position::parse(Some(91.0), Some(181.0)).unwrap_err().len(), 2);
    }
}

//! Numbered schema migrations, as the SQL stores ship and record them: what every store checks
//! the same way whatever its SQL dialect (the checksum of a migration, and whether the migrations
//! a database records are ones this build ships, unedited).

use sha2::{Digest, Sha256};

/// One migration file of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Its number (the file's `NNNN` prefix).
    pub version: u32,
    /// Its file name without `.sql`.
    pub name: &'static str,
    /// Its SQL text.
    pub sql: &'static str,
}

impl Migration {
    /// The hex SHA-256 of the SQL text, as recorded in `schema_migrations`.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// The newest migration among `shipped` (0 when there is none).
pub fn latest(shipped: &[Migration]) -> u32 {
    shipped.last().map_or(0, |m| m.version)
}

/// Why the migrations a database records cannot be trusted by this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// It records a migration this build does not ship: a newer build wrote it.
    Newer {
        /// The unknown migration number (saturated to `u32::MAX` when out of range).
        found: u32,
        /// The newest migration this build ships.
        supported: u32,
    },
    /// A recorded migration's checksum differs from the shipped file: a released migration
    /// was edited.
    Checksum {
        /// The migration number.
        version: u32,
        /// The checksum the database records.
        recorded: String,
        /// The checksum of the file this build ships.
        expected: String,
    },
}

/// Checks the `(version, checksum)` rows a database records against `shipped`. Returns the
/// newest recorded migration (0 for none).
///
/// # Errors
/// The first [`Mismatch`], in the order of `applied`.
pub fn check_applied(shipped: &[Migration], applied: impl IntoIterator<Item = (i64, String)>) -> Result<u32, Mismatch> {
    let mut current = 0u32;
    for (version, recorded) in applied {
        let Some(m) = u32::try_from(version)
            .ok()
            .and_then(|v| shipped.iter().find(|m| m.version == v))
        else {
            return Err(Mismatch::Newer {
                found: u32::try_from(version).unwrap_or(u32::MAX),
                supported: latest(shipped),
            });
        };
        let expected = m.checksum();
        if recorded != expected {
            return Err(Mismatch::Checksum {
                version: m.version,
                recorded,
                expected,
            });
        }
        current = current.max(m.version);
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &[Migration] = &[
        Migration {
            version: 1,
            name: "0001_a",
            sql: "CREATE TABLE a (x INTEGER);",
        },
        Migration {
            version: 2,
            name: "0002_b",
            sql: "CREATE TABLE b (y INTEGER);",
        },
    ];

    #[test]
    fn recorded_migrations_are_checked_by_number_and_checksum() {
        let row = |m: &Migration| (i64::from(m.version), m.checksum());
        assert_eq!(check_applied(SHIPPED, []), Ok(0));
        assert_eq!(check_applied(SHIPPED, [row(&SHIPPED[0])]), Ok(1));
        assert_eq!(check_applied(SHIPPED, SHIPPED.iter().map(row)), Ok(2));
        assert_eq!(
            check_applied(SHIPPED, [(3, "x".into())]),
            Err(Mismatch::Newer { found: 3, supported: 2 })
        );
        assert_eq!(
            check_applied(SHIPPED, [(-1, "x".into())]),
            Err(Mismatch::Newer {
                found: u32::MAX,
                supported: 2
            })
        );
        assert!(matches!(
            check_applied(SHIPPED, [(2, "edited".into())]),
            Err(Mismatch::Checksum { version: 2, .. })
        ));
        assert_eq!(SHIPPED[0].checksum().len(), 64);
    }
}

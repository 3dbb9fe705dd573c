//! Zoom's rate-limit categories and the per-second limits of each.

use axum::http::Method;

/// A rate-limit category, as Zoom names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Reads (`GET`, `HEAD`).
    Light,
    /// Writes.
    Medium,
    /// The costly writes: `joinToken`, `recordings:start` / `recordings:stop`, and user
    /// creations and changes, which may hash a password (Argon2id, slow on purpose).
    Heavy,
}

impl Category {
    /// Every category, in slot order.
    pub const ALL: [Category; 3] = [Category::Light, Category::Medium, Category::Heavy];

    /// The category of a request.
    pub fn of(method: &Method, path: &str) -> Self {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Category::Light;
        }
        if *method == Method::POST
            && (path.ends_with("/joinToken")
                || path.ends_with("/recordings:start")
                || path.ends_with("/recordings:stop")
                // The same actions once the router has routed the colon as a segment.
                || path.ends_with("/recordings/:start")
                || path.ends_with("/recordings/:stop"))
        {
            return Category::Heavy;
        }
        if (*method == Method::POST && path == "/v1/users")
            || (*method == Method::PATCH && path.starts_with("/v1/users/"))
        {
            return Category::Heavy;
        }
        Category::Medium
    }

    /// The name sent in `X-RateLimit-Category`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Light => "Light",
            Category::Medium => "Medium",
            Category::Heavy => "Heavy",
        }
    }

    /// Its slot in a key's buckets.
    pub fn slot(self) -> usize {
        match self {
            Category::Light => 0,
            Category::Medium => 1,
            Category::Heavy => 2,
        }
    }
}

/// Requests per second per account in each category; each bucket's burst is twice its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Reads per second.
    pub light: u32,
    /// Writes per second.
    pub medium: u32,
    /// `joinToken` and recording starts and stops per second.
    pub heavy: u32,
}

impl Default for RateLimits {
    /// Zoom's: 1000, 500 and 200 per second.
    fn default() -> Self {
        Self {
            light: 1000,
            medium: 500,
            heavy: 200,
        }
    }
}

impl RateLimits {
    /// The limit of a category.
    pub fn of(&self, category: Category) -> u32 {
        match category {
            Category::Light => self.light,
            Category::Medium => self.medium,
            Category::Heavy => self.heavy,
        }
    }

    /// Parses `--rate-limit`: `off`, or `light=N,medium=N,heavy=N` with any subset of the three
    /// (the others keep their defaults). `None` is `off`.
    ///
    /// # Errors
    /// A message naming the part that does not parse.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let mut limits = Self::default();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not `category=N` (light, medium, heavy), nor `off`"))?;
            let n: u32 = value.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("`{value}` is not a positive number of requests per second (use `off` to turn limits off)")
            })?;
            match name.trim() {
                "light" => limits.light = n,
                "medium" => limits.medium = n,
                "heavy" => limits.heavy = n,
                other => return Err(format!("`{other}` is not a category; use light, medium or heavy")),
            }
        }
        Ok(Some(limits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads are light, the join token and recording controls heavy, every other write medium.
    #[test]
    fn categories() {
        assert_eq!(Category::of(&Method::GET, "/v1/meetings/m_1"), Category::Light);
        assert_eq!(Category::of(&Method::GET, "/v1/meetings/m_1/events"), Category::Light);
        assert_eq!(Category::of(&Method::POST, "/v1/meetings"), Category::Medium);
        assert_eq!(Category::of(&Method::PATCH, "/v1/meetings/m_1"), Category::Medium);
        assert_eq!(Category::of(&Method::DELETE, "/v1/meetings/m_1"), Category::Medium);
        assert_eq!(Category::of(&Method::POST, "/v1/meetings/m_1:end"), Category::Medium);
        assert_eq!(Category::of(&Method::POST, "/v1/users"), Category::Heavy);
        assert_eq!(Category::of(&Method::PATCH, "/v1/users/alice"), Category::Heavy);
        assert_eq!(Category::of(&Method::DELETE, "/v1/users/alice"), Category::Medium);
        assert_eq!(Category::of(&Method::POST, "/v1/accounts"), Category::Medium);
        assert_eq!(
            Category::of(&Method::POST, "/v1/meetings/m_1/joinToken"),
            Category::Heavy
        );
        assert_eq!(
            Category::of(&Method::POST, "/v1/meetings/m_1/recordings:start"),
            Category::Heavy
        );
        assert_eq!(
            Category::of(&Method::POST, "/v1/meetings/m_1/recordings:stop"),
            Category::Heavy
        );
    }

    /// The flag's forms: off, a full list, a subset, and refusals naming the fault.
    #[test]
    fn parse_flag() {
        assert_eq!(RateLimits::parse("off"), Ok(None));
        assert_eq!(
            RateLimits::parse("light=1000,medium=500,heavy=200"),
            Ok(Some(RateLimits::default()))
        );
        assert_eq!(
            RateLimits::parse("heavy=5"),
            Ok(Some(RateLimits {
                heavy: 5,
                ..RateLimits::default()
            }))
        );
        assert!(RateLimits::parse("light=0").is_err());
        assert!(RateLimits::parse("light=x").is_err());
        assert!(RateLimits::parse("huge=3").is_err());
        assert!(RateLimits::parse("light").is_err());
    }
}

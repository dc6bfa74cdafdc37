//! `page` / `itemsPerPage` query parameters, with MediaMTX's defaults and errors.

use thiserror::Error;

/// Items per page when `itemsPerPage` is absent.
pub const DEFAULT_ITEMS_PER_PAGE: usize = 100;

/// Largest value accepted for `page` and `itemsPerPage` (they are 31-bit unsigned).
const MAX_VALUE: u64 = (1 << 31) - 1;

/// Why the pagination parameters were refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaginationError {
    #[error("strconv.ParseUint: parsing {0:?}: invalid syntax")]
    Syntax(String),
    #[error("strconv.ParseUint: parsing {0:?}: value out of range")]
    Range(String),
    #[error("invalid items per page")]
    ZeroItemsPerPage,
}

fn parse_u31(s: &str) -> Result<usize, PaginationError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PaginationError::Syntax(s.to_owned()));
    }
    match s.parse::<u64>() {
        Ok(v) if v <= MAX_VALUE => {
            usize::try_from(v).map_err(|_| PaginationError::Range(s.to_owned()))
        }
        _ => Err(PaginationError::Range(s.to_owned())),
    }
}

/// Keeps the requested page of `items` and returns the page count.
///
/// Empty strings mean "absent": `itemsPerPage` defaults to 100 and `page` to 0.
/// A page past the end yields no items (not an error).
pub fn paginate<T>(
    items: &mut Vec<T>,
    items_per_page: &str,
    page: &str,
) -> Result<usize, PaginationError> {
    let per_page = if items_per_page.is_empty() {
        DEFAULT_ITEMS_PER_PAGE
    } else {
        match parse_u31(items_per_page)? {
            0 => return Err(PaginationError::ZeroItemsPerPage),
            n => n,
        }
    };
    let page = if page.is_empty() { 0 } else { parse_u31(page)? };

    let len = items.len();
    if len == 0 {
        return Ok(0);
    }
    let page_count = len.div_ceil(per_page);
    let start = page.saturating_mul(per_page).min(len);
    let end = page.saturating_add(1).saturating_mul(per_page).min(len);
    items.truncate(end);
    items.drain(..start);
    Ok(page_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_first_hundred() {
        let mut v: Vec<u32> = (0..250).collect();
        assert_eq!(paginate(&mut v, "", ""), Ok(3));
        assert_eq!(v.len(), 100);
        assert_eq!(v[0], 0);
    }

    #[test]
    fn second_page() {
        let mut v: Vec<u32> = (0..5).collect();
        assert_eq!(paginate(&mut v, "2", "1"), Ok(3));
        assert_eq!(v, vec![2, 3]);
    }

    #[test]
    fn last_partial_page_and_past_the_end() {
        let mut v: Vec<u32> = (0..5).collect();
        assert_eq!(paginate(&mut v, "2", "2"), Ok(3));
        assert_eq!(v, vec![4]);
        let mut v: Vec<u32> = (0..5).collect();
        assert_eq!(paginate(&mut v, "2", "7"), Ok(3));
        assert!(v.is_empty());
    }

    #[test]
    fn empty_list_has_zero_pages() {
        let mut v: Vec<u32> = Vec::new();
        assert_eq!(paginate(&mut v, "10", "3"), Ok(0));
    }

    #[test]
    fn bad_values_are_errors() {
        let mut v = vec![1];
        assert_eq!(
            paginate(&mut v, "0", ""),
            Err(PaginationError::ZeroItemsPerPage)
        );
        assert_eq!(
            paginate(&mut v, "abc", "").unwrap_err().to_string(),
            "strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            paginate(&mut v, "", "-1"),
            Err(PaginationError::Syntax("-1".into()))
        );
        assert_eq!(
            paginate(&mut v, "2147483648", ""),
            Err(PaginationError::Range("2147483648".into()))
        );
        assert_eq!(paginate(&mut v, "2147483647", "2147483647"), Ok(1));
    }
}

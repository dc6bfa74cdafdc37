//! Playlist Delivery Directives (RFC 8216bis 6.2.5): `_HLS_msn`, `_HLS_part`, `_HLS_skip`,
//! and what a blocking request needs to know about the playlist to be answered.

/// The directives of a media playlist request, and the rest of its query (kept on URIs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Directives {
    pub msn: Option<u64>,
    pub part: Option<u64>,
    /// `_HLS_skip=YES` or `v2`: a delta update.
    pub skip: bool,
    /// The query without `_HLS_` parameters, appended to every URI of the playlist.
    pub query: String,
}

/// A directive that is not a number, or `_HLS_part` without `_HLS_msn`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid delivery directive {0}")]
pub struct DirectiveError(pub &'static str);

impl Directives {
    /// Parses a raw query string (without the `?`).
    pub fn parse(query: &str) -> Result<Directives, DirectiveError> {
        let mut d = Directives::default();
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "_HLS_msn" => {
                    d.msn = Some(value.parse().map_err(|_| DirectiveError("_HLS_msn"))?);
                }
                "_HLS_part" => {
                    d.part = Some(value.parse().map_err(|_| DirectiveError("_HLS_part"))?);
                }
                "_HLS_skip" => d.skip = value == "YES" || value == "v2",
                k if k.starts_with("_HLS_") => {}
                _ => rest.push(pair),
            }
        }
        if d.part.is_some() && d.msn.is_none() {
            return Err(DirectiveError("_HLS_part without _HLS_msn"));
        }
        d.query = rest.join("&");
        Ok(d)
    }
}

/// Where a media playlist stands, as blocking reload sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Media sequence number of the segment being built (the last complete one is one less).
    pub next_msn: u64,
    /// Parts of that segment already complete.
    pub next_parts: u64,
    /// Parts of the last complete segment.
    pub last_parts: u64,
    /// Part target duration in milliseconds.
    pub part_target_ms: u64,
}

/// What to do with a blocking request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    Wait,
    /// Too far ahead (RFC 8216bis: more than two segments, or more parts than the Advance
    /// Part Limit): answer 400 at once.
    TooFar,
}

/// The Advance Part Limit in parts: 3 / PART-TARGET (seconds) when the target is under a
/// second, else 3.
fn advance_part_limit(part_target_ms: u64) -> u64 {
    if part_target_ms == 0 || part_target_ms >= 1000 {
        3
    } else {
        3000 / part_target_ms
    }
}

impl Position {
    /// Whether the playlist satisfies `_HLS_msn=msn` (and `_HLS_part=part`). A segment or
    /// part already gone is satisfied (the playlist holds later ones); a part index past
    /// the end of its segment means part 0 of the next one.
    pub fn readiness(&self, msn: u64, part: Option<u64>) -> Readiness {
        if msn > self.next_msn + 1 {
            return Readiness::TooFar;
        }
        let Some(part) = part else {
            return if msn < self.next_msn {
                Readiness::Ready
            } else {
                Readiness::Wait
            };
        };
        let limit = advance_part_limit(self.part_target_ms);
        let (msn, part) = if msn + 1 == self.next_msn && part >= self.last_parts {
            (self.next_msn, 0)
        } else {
            (msn, part)
        };
        if msn < self.next_msn {
            return Readiness::Ready;
        }
        let ahead = if msn == self.next_msn {
            (part + 1).saturating_sub(self.next_parts)
        } else {
            part + 1
        };
        if ahead > limit {
            Readiness::TooFar
        } else if ahead == 0 {
            Readiness::Ready
        } else {
            Readiness::Wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives_and_keeps_the_rest() {
        let d = Directives::parse("token=abc&_HLS_msn=12&_HLS_part=3&_HLS_skip=YES&x=1")
            .expect("valid");
        assert_eq!((d.msn, d.part, d.skip), (Some(12), Some(3), true));
        assert_eq!(d.query, "token=abc&x=1");
        assert_eq!(Directives::parse(""), Ok(Directives::default()));
        assert_eq!(
            Directives::parse("_HLS_msn=abc"),
            Err(DirectiveError("_HLS_msn"))
        );
        assert_eq!(
            Directives::parse("_HLS_part=1"),
            Err(DirectiveError("_HLS_part without _HLS_msn"))
        );
        assert!(!Directives::parse("_HLS_skip=NO").expect("valid").skip);
    }
}

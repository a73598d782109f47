//! Byte sizes as policies and dive's `.dive-ci` write them.
//!
//! A policy size is an integer (bytes) or a string `"<number> <unit>"` with one of the units
//! B, kB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), matched without regard
//! to case; a fraction such as `"1.5 GiB"` is exact and rounds down to a whole byte.
//!
//! dive reads `highestWastedBytes` with go-humanize's `ParseBytes`
//! (<https://github.com/dustin/go-humanize/blob/master/bytes.go>): case-insensitive, commas
//! dropped, a float number, SI (`kb`, `k`) and IEC (`kib`, `ki`) units, the product truncated to
//! an integer. [`parse_dive`] follows those rules so a `.dive-ci` threshold means the same bytes.

/// Why a size could not be read; the message is shown at the value's span.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Nothing was given.
    #[error("the size is empty")]
    Empty,
    /// A minus sign.
    #[error("a size cannot be negative")]
    Negative,
    /// The number part is not a number.
    #[error("`{0}` is not a number")]
    Number(String),
    /// The unit is not one of the accepted ones.
    #[error("unknown unit `{0}`; use B, kB, MB, GB, KiB, MiB or GiB")]
    Unit(String),
    /// More than 2^64 - 1 bytes.
    #[error("the size does not fit in 64 bits")]
    Range,
}

/// The multiplier of a policy unit.
fn policy_unit(unit: &str) -> Option<u64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    })
}

/// Parses a policy size string (`"150 MB"`, `"1.5GiB"`, `"20000"`).
pub fn parse_policy(s: &str) -> Result<u64, SizeError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SizeError::Empty);
    }
    if s.starts_with('-') {
        return Err(SizeError::Negative);
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit = unit.trim();
    let mult = policy_unit(unit).ok_or_else(|| SizeError::Unit(unit.to_string()))?;
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(SizeError::Number(num.to_string()));
    }
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| SizeError::Range)?
    };
    let mut bytes = int.checked_mul(mult).ok_or(SizeError::Range)?;
    // The fraction, exactly: digits * mult / 10^len, rounded down.
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        if frac.len() > 18 {
            return Err(SizeError::Number(num.to_string()));
        }
        let digits: u128 = frac.parse().map_err(|_| SizeError::Number(num.to_string()))?;
        let scale = 10u128.pow(u32::try_from(frac.len()).unwrap_or(18));
        let part = u64::try_from(digits * u128::from(mult) / scale).map_err(|_| SizeError::Range)?;
        bytes = bytes.checked_add(part).ok_or(SizeError::Range)?;
    }
    Ok(bytes)
}

/// Parses a size as dive's `highestWastedBytes` does (go-humanize `ParseBytes`).
pub fn parse_dive(s: &str) -> Result<u64, SizeError> {
    let cleaned: String = s.trim().chars().filter(|&c| c != ',').collect();
    if cleaned.is_empty() {
        return Err(SizeError::Empty);
    }
    let split = cleaned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(cleaned.len());
    let (num, unit) = cleaned.split_at(split);
    if cleaned.starts_with('-') {
        return Err(SizeError::Negative);
    }
    let f: f64 = num.parse().map_err(|_| SizeError::Number(num.to_string()))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "p" | "pb" => 1_000_000_000_000_000,
        "e" | "eb" => 1_000_000_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        "pi" | "pib" => 1 << 50,
        "ei" | "eib" => 1 << 60,
        other => return Err(SizeError::Unit(other.to_string())),
    };
    #[allow(clippy::cast_precision_loss)]
    let product = f * mult as f64;
    if !(0.0..18_446_744_073_709_551_615.0).contains(&product) {
        return Err(SizeError::Range);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(product as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_sizes_take_the_documented_units() {
        assert_eq!(parse_policy("150 MB"), Ok(150_000_000));
        assert_eq!(parse_policy("400 MiB"), Ok(400 << 20));
        assert_eq!(parse_policy("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_policy("5 kB"), Ok(5_000));
        assert_eq!(parse_policy("7 KiB"), Ok(7_168));
        assert_eq!(parse_policy("12"), Ok(12));
        assert_eq!(parse_policy("12 B"), Ok(12));
        assert_eq!(parse_policy("0.1 kB"), Ok(100));
        assert_eq!(parse_policy("-1 MB"), Err(SizeError::Negative));
        assert_eq!(parse_policy("3 TB"), Err(SizeError::Unit("TB".into())));
        assert_eq!(parse_policy("MB"), Err(SizeError::Number(String::new())));
        assert_eq!(parse_policy("1.2.3 MB"), Err(SizeError::Number("1.2.3".into())));
        assert_eq!(parse_policy("99999999999 GB"), Err(SizeError::Range));
    }

    #[test]
    fn dive_sizes_follow_go_humanize() {
        assert_eq!(parse_dive("20MB"), Ok(20_000_000));
        assert_eq!(parse_dive("20 mib"), Ok(20 << 20));
        assert_eq!(parse_dive("1,000"), Ok(1_000));
        assert_eq!(parse_dive("1.5k"), Ok(1_500));
        assert_eq!(parse_dive("2Gi"), Ok(2 << 30));
        assert!(parse_dive("20 parsecs").is_err());
        assert!(parse_dive("-5").is_err());
    }
}

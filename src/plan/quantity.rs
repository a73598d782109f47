//! Kubernetes resource quantities (`"500m"`, `"1.5"`, `"512Mi"`, `"8Gi"`, `"1e3"`, `"100M"`)
//! parsed exactly, and the two units the planner computes in: [`Millicores`] and [`Mebibytes`].
//!
//! Owns: the quantity grammar of `k8s.io/apimachinery/pkg/api/resource` (decimal SI suffixes
//! `n u m k M G T P E`, binary suffixes `Ki Mi Gi Ti Pi Ei`, and decimal exponents `e`/`E`),
//! evaluated as an exact rational, and the rounding rules: requests round **up** (as
//! `Quantity.MilliValue()` and `Value()` do), capacities round **down** (a node never has more
//! than it says). Does not: know which field a quantity belongs to.
//!
//! Source: Kubernetes API reference, *Quantity* (kubernetes.io/docs/reference/kubernetes-api/
//! common-definitions/quantity); `1G` is 10^9 bytes and `1Gi` 2^30 (density.md section 5.2).

use std::fmt;

use serde::Serialize;

/// CPU in millicores (`cpu_m`): `1` core = `1000`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Millicores(pub u64);

/// Memory in whole MiB (`memory_mib`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Mebibytes(pub u64);

impl fmt::Display for Millicores {
    /// `1.4 cores` from one core up (one decimal), `250m` below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1000 {
            // One decimal, rounded half up in integers (no float artefacts).
            let tenths = (self.0 + 50) / 100;
            if tenths == 10 {
                write!(f, "1 core")
            } else if tenths.is_multiple_of(10) {
                write!(f, "{} cores", tenths / 10)
            } else {
                write!(f, "{}.{} cores", tenths / 10, tenths % 10)
            }
        } else {
            write!(f, "{}m", self.0)
        }
    }
}

impl fmt::Display for Mebibytes {
    /// `1.5 GiB` from one GiB up, `512 MiB` below.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1024 {
            #[allow(clippy::cast_precision_loss)]
            let g = self.0 as f64 / 1024.0;
            write!(f, "{g:.1} GiB")
        } else {
            write!(f, "{} MiB", self.0)
        }
    }
}

/// Why a quantity could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// Empty text.
    #[error("empty quantity")]
    Empty,
    /// Not of the form `<number><suffix>`.
    #[error("`{0}` is not a Kubernetes quantity (examples: 500m, 1.5, 512Mi, 8Gi, 1e3)")]
    Syntax(String),
    /// Negative values make no sense for requests or capacities.
    #[error("`{0}` is negative")]
    Negative(String),
    /// Too large to represent.
    #[error("`{0}` is out of range")]
    Range(String),
}

/// An exact, non-negative quantity: `num / den`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    num: u128,
    den: u128,
}

const MIB: u128 = 1 << 20;

impl Quantity {
    /// Parses Kubernetes quantity text.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let s = text.trim();
        if s.is_empty() {
            return Err(QuantityError::Empty);
        }
        let syntax = || QuantityError::Syntax(s.to_string());
        let range = || QuantityError::Range(s.to_string());
        let (neg, body) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        // Mantissa: digits with at most one '.'.
        let mant_end = body
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(body.len());
        let (mant, suffix) = body.split_at(mant_end);
        if mant.is_empty() || mant == "." || mant.matches('.').count() > 1 {
            return Err(syntax());
        }
        let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
        if int_part.len() + frac_part.len() > 30 {
            return Err(range());
        }
        let digits: u128 = format!("{int_part}{frac_part}").parse().map_err(|_| syntax())?;
        let mut num = digits;
        let mut den: u128 = 1;
        let mut scale10: i64 = -i64::try_from(frac_part.len()).map_err(|_| range())?;
        let mut pow2: u32 = 0;
        match suffix {
            "" => {}
            "n" => scale10 -= 9,
            "u" => scale10 -= 6,
            "m" => scale10 -= 3,
            "k" => scale10 += 3,
            "M" => scale10 += 6,
            "G" => scale10 += 9,
            "T" => scale10 += 12,
            "P" => scale10 += 15,
            "E" => scale10 += 18,
            "Ki" => pow2 = 10,
            "Mi" => pow2 = 20,
            "Gi" => pow2 = 30,
            "Ti" => pow2 = 40,
            "Pi" => pow2 = 50,
            "Ei" => pow2 = 60,
            _ => {
                let exp = suffix.strip_prefix(['e', 'E']).ok_or_else(syntax)?;
                let e: i64 = exp.parse().map_err(|_| syntax())?;
                if !(-30..=30).contains(&e) {
                    return Err(range());
                }
                scale10 += e;
            }
        }
        if neg && digits != 0 {
            return Err(QuantityError::Negative(s.to_string()));
        }
        if scale10 >= 0 {
            num = num
                .checked_mul(
                    10u128
                        .checked_pow(u32::try_from(scale10).map_err(|_| range())?)
                        .ok_or_else(range)?,
                )
                .ok_or_else(range)?;
        } else {
            den = 10u128
                .checked_pow(u32::try_from(-scale10).map_err(|_| range())?)
                .ok_or_else(range)?;
        }
        num = num.checked_mul(1u128 << pow2).ok_or_else(range)?;
        if num > u128::from(u64::MAX) * den {
            return Err(range());
        }
        Ok(Self { num, den })
    }

    /// A fraction: a quantity (`0.25`, `1e-1`) or a percentage (`25%`, `2.5e1%`), exact.
    pub fn parse_fraction(text: &str) -> Result<Self, QuantityError> {
        let t = text.trim();
        match t.strip_suffix('%') {
            None => Self::parse(t),
            Some(p) => {
                let q = Self::parse(p)?;
                Ok(Self {
                    num: q.num,
                    den: q
                        .den
                        .checked_mul(100)
                        .ok_or_else(|| QuantityError::Range(t.to_string()))?,
                })
            }
        }
    }

    /// `ceil(self * mul / div)`, saturating at `u64::MAX`.
    fn ceil_scaled(self, mul: u128, div: u128) -> u64 {
        let n = self.num.saturating_mul(mul);
        let d = self.den.saturating_mul(div);
        u64::try_from(n.div_ceil(d)).unwrap_or(u64::MAX)
    }

    /// `floor(self * mul / div)`, saturating at `u64::MAX`.
    fn floor_scaled(self, mul: u128, div: u128) -> u64 {
        let n = self.num.saturating_mul(mul);
        let d = self.den.saturating_mul(div);
        u64::try_from(n / d).unwrap_or(u64::MAX)
    }

    /// CPU request in millicores, rounded up (`"1.5"` → 1500, `"0.1m"` → 1).
    #[must_use]
    pub fn millicores_ceil(self) -> Millicores {
        Millicores(self.ceil_scaled(1000, 1))
    }

    /// CPU capacity in millicores, rounded down.
    #[must_use]
    pub fn millicores_floor(self) -> Millicores {
        Millicores(self.floor_scaled(1000, 1))
    }

    /// Bytes, rounded up (Kubernetes `Value()`).
    #[must_use]
    pub fn bytes_ceil(self) -> u64 {
        self.ceil_scaled(1, 1)
    }

    /// Memory request in MiB, rounded up (`"100M"` → 96).
    #[must_use]
    pub fn mib_ceil(self) -> Mebibytes {
        Mebibytes(self.ceil_scaled(1, MIB))
    }

    /// Memory or disk capacity in MiB, rounded down (`"1G"` → 953).
    #[must_use]
    pub fn mib_floor(self) -> Mebibytes {
        Mebibytes(self.floor_scaled(1, MIB))
    }

    /// A plain count (`max_pods`, `replicas`), if the quantity is a whole number.
    #[must_use]
    pub fn whole(self) -> Option<u64> {
        self.num
            .is_multiple_of(self.den)
            .then(|| u64::try_from(self.num / self.den).ok())
            .flatten()
    }

    /// `ceil(value * mul)` where `self` is a fraction such as `0.075` (exact).
    #[must_use]
    pub fn fraction_of_ceil(self, value: u64) -> u64 {
        self.ceil_scaled(u128::from(value), 1)
    }

    /// `floor(value * self)` (exact).
    #[must_use]
    pub fn fraction_of_floor(self, value: u64) -> u64 {
        self.floor_scaled(u128::from(value), 1)
    }

    /// Whether the value is at most `1`.
    #[must_use]
    pub fn at_most_one(self) -> bool {
        self.num <= self.den
    }

    /// Whether the value is at most `n`.
    #[must_use]
    pub fn at_most(self, n: u64) -> bool {
        self.num <= u128::from(n).saturating_mul(self.den)
    }

    /// Whether the value is zero.
    #[must_use]
    pub fn is_zero(self) -> bool {
        self.num == 0
    }

    /// The value as a float (display and LP use only).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// An exact quantity from a fraction in parts per million.
    #[must_use]
    pub fn from_ppm(ppm: u64) -> Self {
        Self {
            num: u128::from(ppm),
            den: 1_000_000,
        }
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn cpu_quantities() {
        // Values worked out by hand from the Quantity grammar.
        assert_eq!(q("500m").millicores_ceil(), Millicores(500));
        assert_eq!(q("1.5").millicores_ceil(), Millicores(1500));
        assert_eq!(q("2").millicores_ceil(), Millicores(2000));
        assert_eq!(q("0.1m").millicores_ceil(), Millicores(1));
        assert_eq!(q("0.1m").millicores_floor(), Millicores(0));
        assert_eq!(q("1e3").millicores_ceil(), Millicores(1_000_000));
        assert_eq!(q("25e-3").millicores_ceil(), Millicores(25));
        assert_eq!(q("100000u").millicores_ceil(), Millicores(100));
    }

    #[test]
    fn memory_quantities() {
        assert_eq!(q("512Mi").mib_ceil(), Mebibytes(512));
        assert_eq!(q("8Gi").mib_ceil(), Mebibytes(8192));
        assert_eq!(q("1.5Gi").mib_ceil(), Mebibytes(1536));
        // 100M = 100 000 000 B = 95.367 MiB.
        assert_eq!(q("100M").mib_ceil(), Mebibytes(96));
        assert_eq!(q("100M").mib_floor(), Mebibytes(95));
        assert_eq!(q("1G").mib_floor(), Mebibytes(953));
        assert_eq!(q("128974848").mib_ceil(), Mebibytes(123));
        assert_eq!(q("129e6").bytes_ceil(), 129_000_000);
        assert_eq!(q("123Mi").bytes_ceil(), 123 * 1024 * 1024);
        assert_eq!(q("0").mib_ceil(), Mebibytes(0));
        assert_eq!(q("+1Ki").bytes_ceil(), 1024);
    }

    #[test]
    fn fractions_are_exact() {
        // 8192 * 0.075 = 614.4 -> 615 (density.md 2.4, Karpenter row).
        assert_eq!(q("0.075").fraction_of_ceil(8192), 615);
        assert_eq!(q("0.5").fraction_of_ceil(8192), 4096);
        assert_eq!(q("0.8").fraction_of_floor(3920), 3136);
        assert!(q("0.8").at_most_one());
        assert!(!q("1.01").at_most_one());
    }

    #[test]
    fn percentages_are_exact() {
        let f = |s: &str| Quantity::parse_fraction(s).unwrap();
        assert_eq!(f("25%"), Quantity { num: 25, den: 100 });
        assert_eq!(f("0.25").fraction_of_ceil(8), 2);
        assert_eq!(f("12.5%").fraction_of_ceil(8), 1);
        // 1e8 % is a million, not 1e8 (the exponent applies before the percent).
        assert_eq!(f("1e8%").fraction_of_ceil(1), 1_000_000);
        assert_eq!(f("100000000%").fraction_of_ceil(3), 3_000_000);
        assert!(Quantity::parse_fraction("x%").is_err());
        assert!(Quantity::parse_fraction("%").is_err());
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", "abc", "1.2.3", "5X", "Mi", "1e", "1e99", "--1", "1 Gi", "."] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(Quantity::parse("-1"), Err(QuantityError::Negative(_))));
        assert!(Quantity::parse("99999999999999999999999999Ei").is_err());
    }

    #[test]
    fn displays() {
        assert_eq!(Millicores(1400).to_string(), "1.4 cores");
        assert_eq!(Millicores(2000).to_string(), "2 cores");
        assert_eq!(Millicores(1000).to_string(), "1 core");
        assert_eq!(Millicores(1455).to_string(), "1.5 cores");
        assert_eq!(Millicores(250).to_string(), "250m");
        assert_eq!(Mebibytes(1536).to_string(), "1.5 GiB");
        assert_eq!(Mebibytes(500).to_string(), "500 MiB");
    }
}

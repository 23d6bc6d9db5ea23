//! The sequential specifications the linearizability search checks against.
//!
//! A [`Model`] names which operations a history may contain; each operation is compiled (see
//! `partition`) into an [`Action`] over interned values, so that the search steps a model state
//! that is a single small integer: the interned value the register holds.

use std::fmt;
use std::str::FromStr;

/// A register model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// A read/write register: `read` returns the last value written; `write` sets it.
    Register,
    /// A register with compare-and-set: `cas [expected new]` sets `new` if it holds `expected`.
    CasRegister,
}

impl Model {
    /// The model's name as used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Model::Register => "register",
            Model::CasRegister => "cas-register",
        }
    }

    /// The operation names (`f`) the model accepts.
    pub fn functions(self) -> &'static [&'static str] {
        match self {
            Model::Register => &["read", "write"],
            Model::CasRegister => &["read", "write", "cas"],
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Model {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "register" => Ok(Model::Register),
            "cas-register" => Ok(Model::CasRegister),
            other => Err(format!(
                "unknown linearizability model \"{other}\" (expected register or cas-register)"
            )),
        }
    }
}

/// How a `cas` that completed with `fail` is treated. Both are sound readings of Jepsen's
/// semantics; the corpus tests check that they agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FailedCas {
    /// The cas did not take effect and constrains nothing: it is dropped (Knossos' reading).
    #[default]
    Drop,
    /// The cas did not take effect because the register did not hold `expected`: it is checked
    /// as a read, between its invocation and completion, that saw some other value.
    AsRead,
}

impl FailedCas {
    /// The option's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FailedCas::Drop => "drop",
            FailedCas::AsRead => "read",
        }
    }
}

impl FromStr for FailedCas {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "drop" => Ok(FailedCas::Drop),
            "read" | "as-read" => Ok(FailedCas::AsRead),
            other => Err(format!(
                "unknown failed-cas treatment \"{other}\" (expected drop or read)"
            )),
        }
    }
}

/// One operation as the search sees it, over values interned to small integers per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Action {
    /// A read that returned this value.
    Read(u32),
    /// A write of this value.
    Write(u32),
    /// A compare-and-set from the first value to the second.
    Cas(u32, u32),
    /// A failed cas checked as a read: the register did not hold this value.
    ReadOther(u32),
}

impl Action {
    /// Applies the action to a register holding `state`: the new state, or `None` if the
    /// operation cannot happen in that state.
    #[inline]
    pub(crate) fn step(self, state: u32) -> Option<u32> {
        match self {
            Action::Read(v) => (state == v).then_some(state),
            Action::Write(v) => Some(v),
            Action::Cas(expected, new) => (state == expected).then_some(new),
            Action::ReadOther(v) => (state != v).then_some(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        assert_eq!(Action::Read(1).step(1), Some(1));
        assert_eq!(Action::Read(1).step(2), None);
        assert_eq!(Action::Write(3).step(2), Some(3));
        assert_eq!(Action::Cas(2, 5).step(2), Some(5));
        assert_eq!(Action::Cas(2, 5).step(1), None);
        assert_eq!(Action::ReadOther(2).step(2), None);
        assert_eq!(Action::ReadOther(2).step(1), Some(1));
    }

    #[test]
    fn names_round_trip() {
        for m in [Model::Register, Model::CasRegister] {
            assert_eq!(m.name().parse::<Model>(), Ok(m));
        }
        assert!("list-append".parse::<Model>().is_err());
        assert_eq!("read".parse::<FailedCas>(), Ok(FailedCas::AsRead));
    }
}

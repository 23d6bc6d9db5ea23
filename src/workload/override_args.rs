//! The command-line flags that override a workload's settings (`--time-limit`, `--concurrency`,
//! `--rate`, `--nodes`, `--faults`), shared by `faultline run` and `faultline matrix`, and the
//! same flags written back out: to print the command that reproduces a run, or to pass them on
//! to the runs a matrix makes.

use super::duration::{format_duration, parse_duration};
use super::{FaultKind, Overrides};
use clap::Args;
use std::time::Duration;

/// Flags that override a workload file.
#[derive(Debug, Clone, Default, Args)]
pub struct OverrideArgs {
    /// How long clients run, e.g. 30s or 2m (overrides run.time_limit).
    #[arg(long, value_parser = parse_duration)]
    pub time_limit: Option<Duration>,
    /// Concurrent clients (overrides client.concurrency).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Operations per second over all clients, 0 for unlimited (overrides client.rate).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Cluster size (overrides cluster.nodes).
    #[arg(long)]
    pub nodes: Option<usize>,
    /// Faults to inject, comma-separated (e.g. partition-leader,kill), or "none".
    #[arg(long, value_parser = parse_faults)]
    pub faults: Option<FaultList>,
}

/// A comma-separated list of fault kinds given on the command line.
#[derive(Debug, Clone)]
pub struct FaultList(pub Vec<FaultKind>);

fn parse_faults(text: &str) -> Result<FaultList, String> {
    if text.trim() == "none" {
        return Ok(FaultList(Vec::new()));
    }
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            FaultKind::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown fault \"{name}\" (known: {}, or none)", known.join(", "))
            })
        })
        .collect::<Result<_, _>>()
        .map(FaultList)
}

impl OverrideArgs {
    /// The overrides to apply to a workload, with `seed`.
    pub fn overrides(&self, seed: Option<u64>) -> Overrides {
        Overrides {
            time_limit: self.time_limit,
            concurrency: self.concurrency,
            rate: self.rate,
            nodes: self.nodes,
            seed,
            faults: self.faults.as_ref().map(|f| f.0.clone()),
        }
    }

    /// The flags given, as `faultline run` takes them (`--time-limit 3s --faults none`).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut flag = |name: &str, value: String| flags.extend([format!("--{name}"), value]);
        if let Some(t) = self.time_limit {
            flag("time-limit", format_duration(t));
        }
        if let Some(c) = self.concurrency {
            flag("concurrency", c.to_string());
        }
        if let Some(r) = self.rate {
            flag("rate", r.to_string());
        }
        if let Some(n) = self.nodes {
            flag("nodes", n.to_string());
        }
        if let Some(FaultList(f)) = &self.faults {
            let names: Vec<&str> = f.iter().map(|k| k.name()).collect();
            flag(
                "faults",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(",")
                },
            );
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_back_as_the_same_overrides() {
        let args = OverrideArgs {
            time_limit: Some(Duration::from_millis(1500)),
            rate: Some(2.5),
            faults: Some(parse_faults("kill, partition-leader").unwrap()),
            ..Default::default()
        };
        let flags = args.flags();
        assert_eq!(flags[0], "--time-limit");
        assert_eq!(flags[4..], ["--faults", "kill,partition-leader"]);
        #[derive(clap::Parser)]
        struct Probe {
            #[command(flatten)]
            o: OverrideArgs,
        }
        let probe = <Probe as clap::Parser>::parse_from(std::iter::once("x".to_string()).chain(flags));
        assert_eq!(probe.o.time_limit, args.time_limit);
        assert_eq!(probe.o.rate, args.rate);
        assert_eq!(probe.o.flags(), args.flags());
        assert!(parse_faults("meteor").unwrap_err().contains("meteor"));
        assert!(parse_faults("none").unwrap().0.is_empty());
    }
}

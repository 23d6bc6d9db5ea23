//! Where each operation goes: the routing policies of a workload (`[routing]`), and how clients
//! follow the cluster when it changes under them.
//!
//! [`Routing`] is shared by every client: the node believed to lead (learnt from answers) and
//! the nodes recently found unresponsive ("suspects", avoided for a while). A [`Session`] is one
//! client's own state: its process id, its home node, and what it remembers of its last write
//! (log position, time, timestamp) for the read-your-writes techniques.
//!
//! An operation's first [`Attempt`] comes from [`Routing::first_attempt`], one match over the
//! policies. A definite refusal (nothing happened: `connect`, `not_leader`, `behind`,
//! `no_quorum`) is retried within the operation at another node ([`Routing::next_attempt`]):
//! the leader the refusal names, else the next node not yet tried. An `info` outcome is not
//! retried: when the node gave no answer in time, it becomes a suspect, so the *next*
//! operation goes elsewhere; a node that answered (its own `timeout`: a write it could not
//! commit) is not suspected, as it is alive and may still lead.

use crate::client::{Failure, Options};
use crate::workload::{RoutingPolicy, StoreMode, Workload};
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// No leader known.
const NO_LEADER: usize = usize::MAX;

/// How long a node that timed out or refused connections is avoided.
const SUSPECT_FOR: Duration = Duration::from_secs(1);

/// How clients reach the cluster; shared by every client.
pub struct Routing {
    pub mode: StoreMode,
    pub policy: RoutingPolicy,
    /// `ryw-leader-window`: reads go to the leader this long after the client's last write.
    pub leader_window: Duration,
    pub ids: Vec<String>,
    /// The node clients believe leads (single-leader), learnt from answers.
    leader_hint: AtomicUsize,
    /// Per node: avoided until then.
    suspects: Mutex<Vec<Option<Instant>>>,
    /// The clients' clock, read like the nodes' (wall clock at start, then monotonic), for
    /// `ryw-timestamp`.
    wall_at_start_ns: u64,
    started: Instant,
}

/// Is an operation a read (served per the read policy) or a write (anything else)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// One client's session.
pub struct Session {
    pub process: u64,
    /// The node this client prefers (sticky routing; where it starts looking otherwise).
    pub home: usize,
    /// Log position of the client's last acknowledged write (single-leader).
    pub last_write_pos: Option<u64>,
    /// When the client's last write was acknowledged.
    pub last_write_at: Option<Instant>,
    /// The clients' clock when the last write was acknowledged (ns since the epoch).
    pub last_write_ts: Option<u64>,
    pub rng: Xoshiro256PlusPlus,
}

impl Session {
    /// A fresh session for client `index` of a cluster of `nodes`.
    pub fn new(process: u64, home: usize, rng: Xoshiro256PlusPlus) -> Session {
        Session {
            process,
            home,
            last_write_pos: None,
            last_write_at: None,
            last_write_ts: None,
            rng,
        }
    }

    /// After an `info`: the client continues as a new process (`process + concurrency`), with
    /// nothing to read back of the old one's writes.
    pub fn continue_as_new_process(&mut self, concurrency: usize) {
        self.process += concurrency as u64;
        self.last_write_pos = None;
        self.last_write_at = None;
        self.last_write_ts = None;
    }
}

/// Where one attempt of an operation goes, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub node: usize,
    pub opts: Options,
    /// The attempt must reach the leader (a `not_leader` refusal says where to go).
    pub to_leader: bool,
}

impl Routing {
    /// The routing of a workload's clients, for a cluster of these node ids.
    pub fn new(workload: &Workload, ids: Vec<String>) -> Routing {
        let n = ids.len();
        Routing {
            mode: workload.cluster.mode,
            policy: workload.routing.policy_for(workload.cluster.mode),
            leader_window: workload.routing.leader_window,
            ids,
            leader_hint: AtomicUsize::new(NO_LEADER),
            suspects: Mutex::new(vec![None; n]),
            wall_at_start_ns: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
            started: Instant::now(),
        }
    }

    /// The node believed to lead, if any.
    pub fn leader(&self) -> Option<usize> {
        let l = self.leader_hint.load(Ordering::Relaxed);
        (l != NO_LEADER).then_some(l)
    }

    /// Records which node is believed to lead.
    pub fn set_leader(&self, node: Option<usize>) {
        self.leader_hint
            .store(node.unwrap_or(NO_LEADER), Ordering::Relaxed);
    }

    /// The index of a node id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i == id)
    }

    /// The clients' clock, in nanoseconds since the Unix epoch.
    pub fn now_ns(&self) -> u64 {
        self.wall_at_start_ns + self.started.elapsed().as_nanos() as u64
    }

    fn is_suspect(&self, node: usize) -> bool {
        let suspects = self.suspects.lock().unwrap_or_else(|p| p.into_inner());
        suspects[node].is_some_and(|until| Instant::now() < until)
    }

    /// Avoids `node` for a while (it timed out or refused connections).
    pub fn suspect(&self, node: usize) {
        self.suspects.lock().unwrap_or_else(|p| p.into_inner())[node] = Some(Instant::now() + SUSPECT_FOR);
        if self.leader() == Some(node) {
            self.set_leader(None);
        }
    }

    /// Clears a suspicion: the node answered.
    fn trust(&self, node: usize) {
        self.suspects.lock().unwrap_or_else(|p| p.into_inner())[node] = None;
    }

    /// The first node at or after `from` (in ring order) that is neither tried nor a suspect.
    fn next_healthy(&self, from: usize, tried: &[bool]) -> Option<usize> {
        let n = self.ids.len();
        (0..n)
            .map(|i| (from + i) % n)
            .find(|&node| !tried[node] && !self.is_suspect(node))
    }

    /// A node to start from: `preferred` unless it is a suspect, else the next healthy node
    /// (or `preferred` when every node is a suspect).
    fn healthy_or(&self, preferred: usize) -> usize {
        let untried = vec![false; self.ids.len()];
        self.next_healthy(preferred, &untried).unwrap_or(preferred)
    }

    /// The believed leader if it is healthy, else a node to ask (from the session's home).
    fn leader_or_guess(&self, session: &Session) -> usize {
        match self.leader() {
            Some(l) if !self.is_suspect(l) => l,
            _ => self.healthy_or(session.home),
        }
    }

    fn random_node(&self, session: &mut Session) -> usize {
        let pick = session.rng.random_range(0..self.ids.len());
        self.healthy_or(pick)
    }

    /// Where an operation goes first: the one place each policy decides.
    pub fn first_attempt(&self, access: Access, session: &mut Session) -> Attempt {
        let read_any = |after: Option<u64>, after_ts: Option<u64>| Options {
            read: Some("any".into()),
            after,
            after_ts,
            ..Options::default()
        };
        if self.mode != StoreMode::SingleLeader {
            // Every node takes reads and writes.
            let node = match self.policy {
                RoutingPolicy::Sticky => self.sticky_home(session),
                _ => self.random_node(session),
            };
            return Attempt {
                node,
                opts: Options::default(),
                to_leader: false,
            };
        }
        if access == Access::Write {
            return self.leader_attempt(session, Options::default());
        }
        let leader_read = Options {
            read: Some("leader".into()),
            ..Options::default()
        };
        let (node, opts) = match self.policy {
            RoutingPolicy::Leader => return self.leader_attempt(session, leader_read),
            RoutingPolicy::Any => (self.random_node(session), read_any(None, None)),
            RoutingPolicy::Sticky => (self.sticky_home(session), read_any(None, None)),
            RoutingPolicy::RywPosition => (self.random_node(session), read_any(session.last_write_pos, None)),
            RoutingPolicy::RywLeaderWindow => {
                let recent = session
                    .last_write_at
                    .is_some_and(|at| at.elapsed() < self.leader_window);
                if recent {
                    return self.leader_attempt(session, leader_read);
                }
                (self.random_node(session), read_any(None, None))
            }
            RoutingPolicy::RywTimestamp => (self.random_node(session), read_any(None, session.last_write_ts)),
        };
        Attempt {
            node,
            opts,
            to_leader: false,
        }
    }

    fn leader_attempt(&self, session: &Session, opts: Options) -> Attempt {
        Attempt {
            node: self.leader_or_guess(session),
            opts,
            to_leader: true,
        }
    }

    /// The session's home, moved to a healthy node if it is a suspect.
    fn sticky_home(&self, session: &mut Session) -> usize {
        session.home = self.healthy_or(session.home);
        session.home
    }

    /// The nodes the final reads ask, each for every key: the leader alone (`None`: routed as
    /// usual) when the policy reads at the leader, else every node.
    pub fn final_read_targets(&self) -> Vec<Option<usize>> {
        if self.mode == StoreMode::SingleLeader && self.policy == RoutingPolicy::Leader {
            vec![None]
        } else {
            (0..self.ids.len()).map(Some).collect()
        }
    }

    /// After a definite refusal of `attempt`: where to try next within the same operation, or
    /// `None` to give up (the refusal is the operation's outcome). `tried` marks the nodes
    /// already asked.
    pub fn next_attempt(&self, attempt: &Attempt, failure: &Failure, tried: &[bool]) -> Option<Attempt> {
        let n = self.ids.len();
        let from = (attempt.node + 1) % n;
        let node = match failure.code.as_str() {
            "connect" => {
                self.suspect(attempt.node);
                self.next_healthy(from, tried)?
            }
            "not_leader" => {
                if self.leader() == Some(attempt.node) {
                    self.set_leader(None);
                }
                match failure.leader.as_deref().and_then(|l| self.index_of(l)) {
                    Some(l) if !tried[l] && !self.is_suspect(l) => {
                        self.set_leader(Some(l));
                        l
                    }
                    _ => self.next_healthy(from, tried)?,
                }
            }
            // Nothing happened; another node may be current enough, or see a quorum.
            "behind" | "no_quorum" => self.next_healthy(from, tried)?,
            _ => return None,
        };
        Some(Attempt {
            node,
            ..attempt.clone()
        })
    }

    /// Learns from a successful attempt: the node answers; a leader-only request succeeded
    /// at the leader; a write's position and time are the session's read-your-writes tokens.
    pub fn observe_ok(&self, attempt: &Attempt, access: Access, pos: u64, session: &mut Session) {
        self.trust(attempt.node);
        if self.mode != StoreMode::SingleLeader {
            return;
        }
        if attempt.to_leader {
            self.set_leader(Some(attempt.node));
        }
        if access == Access::Write {
            session.last_write_pos = Some(pos.max(session.last_write_pos.unwrap_or(0)));
            session.last_write_at = Some(Instant::now());
            session.last_write_ts = Some(self.now_ns());
        }
    }

    /// Learns from an indeterminate outcome: a node that gave no answer is avoided for a
    /// while; a leader that stepped down no longer leads.
    pub fn observe_info(&self, attempt: &Attempt, failure: &Failure) {
        if failure.status.is_none() {
            self.suspect(attempt.node);
        } else if failure.code == "stepped_down" && self.leader() == Some(attempt.node) {
            self.set_leader(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn routing(mode: &str, policy: &str) -> Routing {
        let extra = if mode == "single-leader" {
            "replication = \"async\"\n"
        } else {
            ""
        };
        let text = format!(
            "name = \"t\"\n[cluster]\nmode = \"{mode}\"\n{extra}[routing]\npolicy = \"{policy}\"\n\
             [generator]\nkind = \"register\"\n[run]\ntime_limit = \"5s\"\n\
             [check]\ncheckers = [\"linearizability\"]\n[expect]\nverdict = \"valid\"\n"
        );
        let w = Workload::parse("t.toml", &text).unwrap();
        Routing::new(&w, vec!["n1".into(), "n2".into(), "n3".into()])
    }

    fn session() -> Session {
        let mut s = Session::new(0, 1, Xoshiro256PlusPlus::seed_from_u64(1));
        s.last_write_pos = Some(7);
        s.last_write_ts = Some(99);
        s
    }

    fn refusal(code: &str, leader: Option<&str>) -> Failure {
        Failure {
            node: None,
            code: code.into(),
            message: String::new(),
            leader: leader.map(str::to_string),
            status: None,
        }
    }

    #[test]
    fn each_policy_routes_reads_its_way() {
        let r = routing("single-leader", "leader");
        r.set_leader(Some(2));
        let a = r.first_attempt(Access::Read, &mut session());
        assert_eq!(
            (a.node, a.opts.read.as_deref(), a.to_leader),
            (2, Some("leader"), true)
        );
        let a = r.first_attempt(Access::Write, &mut session());
        assert_eq!((a.node, a.opts.read, a.to_leader), (2, None, true));

        let r = routing("single-leader", "ryw-position");
        let a = r.first_attempt(Access::Read, &mut session());
        assert_eq!(
            (a.opts.read.as_deref(), a.opts.after, a.to_leader),
            (Some("any"), Some(7), false)
        );

        let r = routing("single-leader", "ryw-timestamp");
        let a = r.first_attempt(Access::Read, &mut session());
        assert_eq!((a.opts.after_ts, a.opts.after), (Some(99), None));

        let r = routing("single-leader", "ryw-leader-window");
        r.set_leader(Some(0));
        let mut s = session();
        assert!(
            !r.first_attempt(Access::Read, &mut s).to_leader,
            "no recent write"
        );
        s.last_write_at = Some(Instant::now());
        let a = r.first_attempt(Access::Read, &mut s);
        assert_eq!((a.node, a.to_leader), (0, true), "a write just now: the leader");

        let r = routing("single-leader", "sticky");
        let mut s = session();
        for _ in 0..10 {
            assert_eq!(r.first_attempt(Access::Read, &mut s).node, 1, "always home");
        }
        r.suspect(1);
        assert_eq!(
            r.first_attempt(Access::Read, &mut s).node,
            2,
            "home moves off a suspect"
        );
        assert_eq!(s.home, 2);

        let r = routing("leaderless", "any");
        let mut s = session();
        let nodes: std::collections::BTreeSet<usize> = (0..50)
            .map(|_| r.first_attempt(Access::Write, &mut s).node)
            .collect();
        assert_eq!(nodes.len(), 3, "any node coordinates");
    }

    #[test]
    fn refusals_lead_to_the_named_leader_or_the_next_node() {
        let r = routing("single-leader", "leader");
        let mut s = session();
        let first = r.first_attempt(Access::Write, &mut s);
        assert_eq!(first.node, 1, "no leader known: start at home");
        let mut tried = vec![false, true, false];
        let next = r
            .next_attempt(&first, &refusal("not_leader", Some("n3")), &tried)
            .unwrap();
        assert_eq!(next.node, 2);
        assert_eq!(r.leader(), Some(2), "the named leader is remembered");
        tried[2] = true;
        // The named leader refuses too, knowing no leader: ask the next node not yet asked.
        let next = r
            .next_attempt(&next, &refusal("not_leader", None), &tried)
            .unwrap();
        assert_eq!(next.node, 0);
        assert_eq!(r.leader(), None);
        tried[0] = true;
        assert_eq!(
            r.next_attempt(&next, &refusal("not_leader", Some("n2")), &tried),
            None
        );
        assert_eq!(
            r.next_attempt(&first, &refusal("cas_mismatch", None), &[false; 3]),
            None
        );
        // A node that refuses connections is skipped by later operations too.
        let gone = r.next_attempt(&first, &refusal("connect", None), &[false, true, false]);
        assert_eq!(gone.unwrap().node, 2);
        assert_eq!(r.first_attempt(Access::Write, &mut s).node, 2, "n2 is avoided");
    }

    #[test]
    fn a_timeout_sends_the_next_operation_elsewhere() {
        let r = routing("single-leader", "leader");
        r.set_leader(Some(0));
        let mut s = session();
        let a = r.first_attempt(Access::Write, &mut s);
        assert_eq!(a.node, 0);
        let mut answered = refusal("timeout", None);
        answered.status = Some(504);
        r.observe_info(&a, &answered);
        assert_eq!(r.leader(), Some(0), "a node that answers is alive and may lead");
        r.observe_info(&a, &refusal("timeout", None));
        assert_eq!(r.leader(), None);
        assert_ne!(r.first_attempt(Access::Write, &mut s).node, 0);
        let ok = Attempt {
            node: 2,
            opts: Options::default(),
            to_leader: true,
        };
        r.observe_ok(&ok, Access::Write, 12, &mut s);
        assert_eq!((r.leader(), s.last_write_pos), (Some(2), Some(12)));
        assert!(s.last_write_ts.unwrap() > 1_600_000_000_000_000_000);
        s.continue_as_new_process(6);
        assert_eq!((s.process, s.last_write_pos, s.last_write_ts), (6, None, None));
    }
}

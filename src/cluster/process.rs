//! Child processes the harness owns: started in their own process group (so a terminal's
//! Ctrl-C reaches only the harness, which then stops them in order) and with a parent-death
//! signal (so they die with the harness even if it is SIGKILLed).
//!
//! The parent-death signal fires when the *thread* that forked the child exits, so every child
//! is spawned from one dedicated thread that lives as long as the harness.

use anyhow::{Context, anyhow};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::mpsc;

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

fn spawner() -> &'static std::sync::Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<std::sync::Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("faultline-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("cannot start the spawner thread");
        std::sync::Mutex::new(tx)
    })
}

/// The lifecycle state of a child as the harness last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildState {
    Running,
    Paused,
    Exited,
}

/// A child process owned by the harness.
#[derive(Debug)]
pub struct OwnedChild {
    child: Child,
    state: ChildState,
}

impl OwnedChild {
    /// Spawns `command` in its own process group with SIGKILL as its parent-death signal.
    pub fn spawn(mut command: Command) -> anyhow::Result<OwnedChild> {
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe system calls (setpgid, prctl).
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
                Ok(())
            });
        }
        let (reply_tx, reply_rx) = mpsc::channel();
        spawner()
            .lock()
            .map_err(|_| anyhow!("the spawner thread is gone"))?
            .send((command, reply_tx))
            .map_err(|_| anyhow!("the spawner thread is gone"))?;
        let child = reply_rx
            .recv()
            .map_err(|_| anyhow!("the spawner thread is gone"))?
            .context("spawning a child process")?;
        Ok(OwnedChild {
            child,
            state: ChildState::Running,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn nix_pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Last known state (refreshed for exits).
    pub fn state(&mut self) -> ChildState {
        if self.state != ChildState::Exited && matches!(self.child.try_wait(), Ok(Some(_))) {
            self.state = ChildState::Exited;
        }
        self.state
    }

    /// How the child ended, in words ("exit status: 3", "signal: 9 (SIGKILL)"), once exited.
    pub fn exit_description(&mut self) -> String {
        match self.child.try_wait() {
            Ok(Some(status)) => status.to_string(),
            _ => "exited".to_string(),
        }
    }

    /// SIGKILL, then reap. Safe to call on a child that already exited.
    pub fn kill(&mut self) {
        if self.state == ChildState::Exited {
            return;
        }
        let _ = kill(self.nix_pid(), Signal::SIGKILL);
        let _ = self.child.wait();
        self.state = ChildState::Exited;
    }

    /// SIGSTOP, and wait until the kernel reports the child stopped.
    pub fn pause(&mut self) -> anyhow::Result<()> {
        if self.state() != ChildState::Running {
            return Ok(());
        }
        kill(self.nix_pid(), Signal::SIGSTOP).context("sending SIGSTOP")?;
        match waitpid(self.nix_pid(), Some(WaitPidFlag::WUNTRACED)).context("waiting for the stop")? {
            WaitStatus::Stopped(..) => {
                self.state = ChildState::Paused;
                Ok(())
            }
            WaitStatus::Exited(..) | WaitStatus::Signaled(..) => {
                self.state = ChildState::Exited;
                Err(anyhow!("the process exited instead of stopping"))
            }
            other => Err(anyhow!("unexpected wait status {other:?} after SIGSTOP")),
        }
    }

    /// SIGCONT a paused child.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        if self.state != ChildState::Paused {
            return Ok(());
        }
        kill(self.nix_pid(), Signal::SIGCONT).context("sending SIGCONT")?;
        self.state = ChildState::Running;
        Ok(())
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        // /proc/<pid>/stat state letter: Z (zombie) or absent means gone.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(s) => !s.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')),
            Err(_) => false,
        }
    }

    fn proc_state(pid: u32) -> char {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        s.split(") ").nth(1).unwrap().chars().next().unwrap()
    }

    #[test]
    fn pause_resume_kill_and_drop() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let mut c = OwnedChild::spawn(cmd).unwrap();
        let pid = c.pid();
        assert!(alive(pid));
        c.pause().unwrap();
        assert_eq!(proc_state(pid), 'T');
        c.resume().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(proc_state(pid), 'S');
        c.pause().unwrap();
        c.kill();
        assert!(!alive(pid), "a paused child is killed too");
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let c = OwnedChild::spawn(cmd).unwrap();
        let pid = c.pid();
        drop(c);
        assert!(!alive(pid), "dropping a child kills it");
    }

    #[test]
    fn children_get_their_own_process_group() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let c = OwnedChild::spawn(cmd).unwrap();
        let pgid = nix::unistd::getpgid(Some(Pid::from_raw(c.pid() as i32))).unwrap();
        assert_eq!(pgid.as_raw() as u32, c.pid());
    }
}

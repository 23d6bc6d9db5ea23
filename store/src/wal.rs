//! The write-ahead log: one file per node (`wal.log` in its data directory) of checksummed
//! frames, written by one thread with group commit.
//!
//! A frame is `[length: u32 LE][crc32: u32 LE][payload]`; payloads are the modes' own records
//! (JSON). Appends get increasing sequence numbers; a writer awaits [`Wal::wait_durable`] before
//! acknowledging. The writer thread drains every queued record, writes them in one go, then
//! (with `--fsync always`) calls `fdatasync` once for the whole batch. With `--fsync never` the
//! batch is handed to the operating system without a sync: it survives the process being killed,
//! not the machine losing power. On open, frames are read back until the first torn or corrupt
//! frame, and the file is cut there.

use anyhow::Context;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// When the log is synced to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FsyncPolicy {
    /// `fdatasync` after every batch, before any write in it is acknowledged.
    Always,
    /// Never sync; writes are handed to the operating system before they are acknowledged.
    Never,
}

impl std::str::FromStr for FsyncPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "always" => Ok(FsyncPolicy::Always),
            "never" => Ok(FsyncPolicy::Never),
            _ => Err(format!("expected `always` or `never`, got `{s}`")),
        }
    }
}

enum Command {
    Append(u64, Vec<u8>),
    /// Replace the whole log with these records (after installing a snapshot).
    Rewrite(u64, Vec<Vec<u8>>),
}

/// The log, open for appending.
pub struct Wal {
    queue: Mutex<Queue>,
    durable: watch::Receiver<u64>,
    /// Compact once this many bytes were appended since the last rewrite (and at least as many
    /// as the rewrite wrote); 0 never.
    compact_bytes: AtomicU64,
    /// Milliseconds the writer pauses between a rewrite's new file and its rename (a test hook).
    rewrite_pause_ms: Arc<AtomicU64>,
}

/// The writer's queue and how much the log has grown.
struct Queue {
    /// The sequence number of the last record queued.
    seq: u64,
    tx: mpsc::Sender<Command>,
    /// Bytes appended since the last rewrite (or in the file as opened).
    appended: u64,
    /// Bytes the last rewrite wrote (the snapshot's size).
    rewritten: u64,
}

/// What was read back when the log was opened.
pub struct Recovered {
    /// The payloads of the intact frames, in order.
    pub records: Vec<Vec<u8>>,
    /// Bytes cut off the end (a torn or corrupt tail).
    pub truncated_bytes: u64,
}

impl Wal {
    /// Opens (or creates) the log in `dir`, reads back its records, and starts the writer thread.
    pub fn open(dir: &Path, fsync: FsyncPolicy) -> anyhow::Result<(Wal, Recovered)> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("wal.log");
        let recovered = recover(&path)?;
        // A rewrite cut short by a crash leaves its new file behind, never renamed: the log is
        // the old one, whole.
        let _ = std::fs::remove_file(path.with_extension("tmp"));
        let opened_bytes: u64 = recovered.records.iter().map(|r| frame_len(r)).sum();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let (tx, rx) = mpsc::channel();
        let (durable_tx, durable_rx) = watch::channel(0u64);
        let rewrite_pause_ms = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            rewrite_pause_ms: rewrite_pause_ms.clone(),
            path,
            file: BufWriter::with_capacity(1 << 20, file),
            fsync,
            durable: durable_tx,
        };
        std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || writer.run(rx))
            .context("starting the WAL writer thread")?;
        let wal = Wal {
            queue: Mutex::new(Queue {
                seq: 0,
                tx,
                appended: opened_bytes,
                rewritten: 0,
            }),
            durable: durable_rx,
            compact_bytes: AtomicU64::new(0),
            rewrite_pause_ms,
        };
        Ok((wal, recovered))
    }

    /// Queues a record; returns its sequence number. Callers that need the log order to match
    /// the order in which they changed their state call this while holding their state lock.
    pub fn append(&self, payload: Vec<u8>) -> u64 {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.seq += 1;
        queue.appended += frame_len(&payload);
        let seq = queue.seq;
        // The writer thread only stops when the process exits; a failed send cannot happen
        // before then, and waiting on `durable` would then never return, which is right.
        let _ = queue.tx.send(Command::Append(seq, payload));
        seq
    }

    /// Queues an atomic replacement of the whole log by `records`; returns its sequence number.
    pub fn rewrite(&self, records: Vec<Vec<u8>>) -> u64 {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.seq += 1;
        queue.appended = 0;
        queue.rewritten = records.iter().map(|r| frame_len(r)).sum();
        let seq = queue.seq;
        let _ = queue.tx.send(Command::Rewrite(seq, records));
        seq
    }

    /// Compact (rewrite the log as a snapshot of the state) once `bytes` were appended since
    /// the last rewrite and at least as many as that rewrite wrote, so the log stays within
    /// about twice the snapshot (or the snapshot plus `bytes`) and rewriting costs at most one
    /// byte per byte appended; 0 never compacts.
    pub fn compact_after(&self, bytes: u64) {
        self.compact_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Test hook: the writer pauses for `pause` between writing a rewrite's new file (synced)
    /// and renaming it over the log, and logs when it starts, so a test can kill the process
    /// there.
    pub fn pause_rewrites(&self, pause: std::time::Duration) {
        let ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
        self.rewrite_pause_ms.store(ms, Ordering::Relaxed);
    }

    /// Has the log grown enough to be compacted (see [`Wal::compact_after`])?
    pub fn wants_compaction(&self) -> bool {
        let threshold = self.compact_bytes.load(Ordering::Relaxed);
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        threshold > 0 && queue.appended > threshold.max(queue.rewritten)
    }

    /// The sequence number of the last record queued.
    pub fn last_seq(&self) -> u64 {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).seq
    }

    /// Watches the sequence number up to which records are durable.
    pub fn durable(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }

    /// Waits until every record up to `seq` is written (and synced, with `--fsync always`).
    pub async fn wait_durable(&self, seq: u64) {
        let mut rx = self.durable.clone();
        // An error means the writer is gone, which only happens when the process is exiting.
        let _ = rx.wait_for(|&d| d >= seq).await;
    }
}

struct Writer {
    path: PathBuf,
    file: BufWriter<File>,
    fsync: FsyncPolicy,
    durable: watch::Sender<u64>,
    rewrite_pause_ms: Arc<AtomicU64>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Command>) {
        while let Ok(first) = rx.recv() {
            let mut last = self.apply(first);
            let mut batch = 1;
            while batch < 4096 {
                match rx.try_recv() {
                    Ok(cmd) => {
                        last = self.apply(cmd);
                        batch += 1;
                    }
                    Err(_) => break,
                }
            }
            if let Err(e) = self.commit() {
                fatal(&self.path, e);
            }
            self.durable.send_replace(last);
        }
    }

    fn apply(&mut self, cmd: Command) -> u64 {
        let result = match cmd {
            Command::Append(seq, payload) => write_frame(&mut self.file, &payload).map(|_| seq),
            Command::Rewrite(seq, records) => self.rewrite(&records).map(|_| seq),
        };
        result.unwrap_or_else(|e| fatal(&self.path, e))
    }

    fn commit(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        if self.fsync == FsyncPolicy::Always {
            self.file.get_ref().sync_data()?;
        }
        Ok(())
    }

    fn rewrite(&mut self, records: &[Vec<u8>]) -> std::io::Result<()> {
        self.file.flush()?;
        let tmp = self.path.with_extension("tmp");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            for r in records {
                write_frame(&mut out, r)?;
            }
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        let pause = self.rewrite_pause_ms.load(Ordering::Relaxed);
        if pause > 0 {
            crate::log::log(format_args!(
                "WAL rewrite: new log written to {}, pausing {pause} ms before renaming it \
                 (--wal-rewrite-pause-ms)",
                tmp.display()
            ));
            std::thread::sleep(std::time::Duration::from_millis(pause));
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        let file = OpenOptions::new().append(true).open(&self.path)?;
        self.file = BufWriter::with_capacity(1 << 20, file);
        Ok(())
    }
}

/// A database that cannot write its log must stop rather than acknowledge writes it may lose.
fn fatal(path: &Path, e: std::io::Error) -> ! {
    eprintln!(
        "faultline node: fatal: cannot write the WAL {}: {e}",
        path.display()
    );
    std::process::exit(255)
}

/// The bytes a record takes in the file.
fn frame_len(payload: &[u8]) -> u64 {
    8 + payload.len() as u64
}

fn write_frame(out: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        std::io::Error::other(format!(
            "a record of {} bytes is past the frame limit of 4 GiB",
            payload.len()
        ))
    })?;
    let mut header = [0u8; 8];
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4..].copy_from_slice(&crc32(payload).to_le_bytes());
    out.write_all(&header)?;
    out.write_all(payload)
}

/// Reads the intact frames of the log at `path` and cuts off a torn or corrupt tail.
fn recover(path: &Path) -> anyhow::Result<Recovered> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)
                .with_context(|| format!("reading {}", path.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    }
    let (records, good_len) = parse_frames(&bytes);
    let truncated_bytes = (bytes.len() - good_len) as u64;
    if truncated_bytes > 0 {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        f.set_len(good_len as u64)
            .with_context(|| format!("truncating {}", path.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", path.display()))?;
    }
    Ok(Recovered {
        records,
        truncated_bytes,
    })
}

/// Splits `bytes` into frame payloads; returns them and the length of the intact prefix.
fn parse_frames(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= 8 {
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        if bytes.len() - at - 8 < len {
            break;
        }
        let payload = &bytes[at + 8..at + 8 + len];
        if crc32(payload) != crc {
            break;
        }
        records.push(payload.to_vec());
        at += 8 + len;
    }
    (records, at)
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[tokio::test]
    async fn records_survive_a_reopen_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (wal, rec) = Wal::open(dir.path(), FsyncPolicy::Always).unwrap();
            assert!(rec.records.is_empty());
            wal.append(b"one".to_vec());
            let seq = wal.append(b"two".to_vec());
            wal.wait_durable(seq).await;
        }
        // A torn frame: a header promising more bytes than follow.
        let path = dir.path().join("wal.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[50, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
        drop(f);
        let (wal, rec) = Wal::open(dir.path(), FsyncPolicy::Never).unwrap();
        assert_eq!(rec.records, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(rec.truncated_bytes, 9);
        let seq = wal.append(b"three".to_vec());
        wal.wait_durable(seq).await;
        drop(wal);
        let (_wal, rec) = Wal::open(dir.path(), FsyncPolicy::Never).unwrap();
        assert_eq!(rec.records.len(), 3);
        assert_eq!(rec.truncated_bytes, 0);
    }

    #[tokio::test]
    async fn a_corrupt_frame_ends_recovery_and_rewrite_replaces_the_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (wal, _) = Wal::open(dir.path(), FsyncPolicy::Never).unwrap();
            wal.append(b"aaaa".to_vec());
            let seq = wal.append(b"bbbb".to_vec());
            wal.wait_durable(seq).await;
        }
        let path = dir.path().join("wal.log");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        {
            let (wal, rec) = Wal::open(dir.path(), FsyncPolicy::Never).unwrap();
            assert_eq!(rec.records, vec![b"aaaa".to_vec()]);
            let seq = wal.rewrite(vec![b"snap".to_vec()]);
            let seq2 = wal.append(b"after".to_vec());
            assert!(seq2 > seq);
            wal.wait_durable(seq2).await;
        }
        let (_wal, rec) = Wal::open(dir.path(), FsyncPolicy::Never).unwrap();
        assert_eq!(rec.records, vec![b"snap".to_vec(), b"after".to_vec()]);
    }

    #[tokio::test]
    async fn compaction_is_due_after_the_threshold_and_the_last_snapshots_size() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = Wal::open(dir.path(), FsyncPolicy::Never).unwrap();
        wal.append(vec![0; 92]);
        assert!(!wal.wants_compaction(), "off by default");
        wal.compact_after(150);
        assert!(!wal.wants_compaction());
        wal.append(vec![0; 92]);
        assert!(wal.wants_compaction(), "200 bytes appended, past 150");
        wal.rewrite(vec![vec![0; 292]]);
        wal.append(vec![0; 192]);
        assert!(
            !wal.wants_compaction(),
            "200 appended, not past the 300-byte snapshot"
        );
        let seq = wal.append(vec![0; 192]);
        assert!(wal.wants_compaction());
        wal.wait_durable(seq).await;
        drop(wal);
        let (wal, rec) = Wal::open(dir.path(), FsyncPolicy::Never).unwrap();
        assert_eq!(rec.records.len(), 3);
        wal.compact_after(150);
        assert!(wal.wants_compaction(), "a reopened log counts what it holds");
    }
}

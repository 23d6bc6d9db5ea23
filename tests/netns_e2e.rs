//! Network fabrics for nodes in their own namespaces: addresses, cuts and heals through real
//! nftables rules, and nothing left behind, by a fabric's own teardown or by `faultline clean`
//! after the run holding it was SIGKILLed. Needs root (as the project's CI has).

use assert_cmd::cargo::CommandCargoExt;
use faultline::netns::{Fabric, LEASE_DIR};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The port every node's listener takes inside its own namespace (nothing else lives there).
const PORT: u16 = 7000;

const LISTENER: &str = "import socket,sys\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind((sys.argv[1],int(sys.argv[2])))\ns.listen(64)\nprint('ready',flush=True)\nwhile True:\n  s.accept()[0].close()\n";

const CONNECT: &str = "import socket,sys\nsocket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=float(sys.argv[3]))\n";

fn listen_in(fabric: &Fabric, node: usize) -> Child {
    let mut child = fabric
        .command(node, "python3")
        .args([
            "-c",
            LISTENER,
            &fabric.node_address(node).to_string(),
            &PORT.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

/// Whether node `from` can open a TCP connection to node `to` within `timeout`.
fn connects(fabric: &Fabric, from: usize, to: usize, timeout: f64) -> bool {
    fabric
        .command(from, "python3")
        .args([
            "-c",
            CONNECT,
            &fabric.node_address(to).to_string(),
            &PORT.to_string(),
            &timeout.to_string(),
        ])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

fn harness_connects(address: Ipv4Addr) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((address, PORT)), Duration::from_secs(2)).is_ok()
}

fn namespaces_of(subnet: u8) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("faultline-{subnet}-")))
        .map(str::to_string)
        .collect()
}

fn links_of(subnet: u8) -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| *n == format!("flbr{subnet}") || n.starts_with(&format!("flv{subnet}n")))
        .collect()
}

fn nothing_left(subnet: u8) {
    assert_eq!(namespaces_of(subnet), Vec::<String>::new(), "namespaces left");
    assert_eq!(links_of(subnet), Vec::<String>::new(), "interfaces left");
    assert!(
        !std::path::Path::new(LEASE_DIR)
            .join(format!("{subnet}.lease"))
            .exists(),
        "lease left"
    );
}

fn process_exists(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat[stat.rfind(')').unwrap() + 1..].trim_start().starts_with('Z'))
        .unwrap_or(false)
}

#[test]
fn cuts_drop_links_between_nodes_but_never_the_harness_and_heal_restores_them() {
    let mut fabric = Fabric::create(3).unwrap();
    let subnet = fabric.subnet();
    let mut listeners: Vec<Child> = (0..3).map(|n| listen_in(&fabric, n)).collect();

    for from in 0..3 {
        for to in 0..3 {
            if from != to {
                assert!(connects(&fabric, from, to, 3.0), "{from} -> {to} before any cut");
            }
        }
    }
    // Isolate node 1 both ways.
    fabric.cut(&[(0, 1), (2, 1), (1, 0), (1, 2)]).unwrap();
    assert!(!connects(&fabric, 0, 1, 1.0), "0 -> 1 is cut");
    assert!(!connects(&fabric, 1, 2, 1.0), "1 -> 2 is cut");
    assert!(connects(&fabric, 0, 2, 3.0), "0 -> 2 is not cut");
    assert!(
        harness_connects(fabric.node_address(1)),
        "the harness still reaches node 1"
    );

    // One way: packets from 0 dropped at 2 only; 2 -> 0 handshakes fail too (the SYN-ACK is
    // dropped), while 1 <-> 2 heals.
    fabric.cut(&[(0, 2)]).unwrap();
    assert!(!connects(&fabric, 0, 2, 1.0), "0 -> 2 is cut");
    assert!(connects(&fabric, 1, 2, 3.0), "1 -> 2 healed");
    assert!(connects(&fabric, 0, 1, 3.0), "0 -> 1 healed");

    fabric.heal().unwrap();
    assert!(connects(&fabric, 0, 2, 3.0), "0 -> 2 healed");
    assert!(fabric.cut(&[(0, 3)]).is_err(), "no such node");

    let pids: Vec<u32> = listeners.iter().map(Child::id).collect();
    fabric.tear_down();
    for l in &mut listeners {
        l.wait().unwrap();
    }
    assert!(
        pids.iter().all(|&p| !process_exists(p)),
        "teardown killed the listeners"
    );
    nothing_left(subnet);
}

/// Not a test on its own: the process `clean_removes_a_killed_runs_fabric_and_only_that` starts
/// and SIGKILLs. It holds a fabric of two nodes with a sleeper in each, and prints the subnet.
#[test]
#[ignore = "run as a child process by clean_removes_a_killed_runs_fabric_and_only_that"]
fn fabric_holder_process() {
    let fabric = Fabric::create(2).unwrap();
    let sleepers: Vec<Child> = (0..2)
        .map(|n| fabric.command(n, "sleep").arg("600").spawn().unwrap())
        .collect();
    let pids: Vec<String> = sleepers.iter().map(|c| c.id().to_string()).collect();
    println!("holding {} {}", fabric.subnet(), pids.join(" "));
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn clean_removes_a_killed_runs_fabric_and_only_that() {
    let alive = Fabric::create(1).unwrap();

    let mut holder = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fabric_holder_process", "--ignored", "--nocapture"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("holding") {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the holder ended early");
    }
    let mut words = line.split_whitespace().skip(1);
    let subnet: u8 = words.next().unwrap().parse().unwrap();
    let sleepers: Vec<u32> = words.map(|w| w.parse().unwrap()).collect();
    assert_eq!(namespaces_of(subnet).len(), 2);

    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(
        namespaces_of(subnet).len(),
        2,
        "a SIGKILLed run leaves its fabric"
    );
    assert!(sleepers.iter().all(|&p| process_exists(p)), "and its processes");

    let out = Command::cargo_bin("faultline")
        .unwrap()
        .arg("clean")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("169.254.{subnet}.0/24")), "{said}");
    nothing_left(subnet);
    for &pid in &sleepers {
        for _ in 0..100 {
            if !process_exists(pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!process_exists(pid), "sleeper {pid} killed");
    }

    assert_eq!(
        namespaces_of(alive.subnet()).len(),
        1,
        "a live run's fabric is untouched"
    );
    assert!(harness_connects_or_refused(alive.node_address(0)));
    let subnet_alive = alive.subnet();
    drop(alive);
    nothing_left(subnet_alive);
}

/// The harness reaches the address (a refused connection proves the path is up: nothing listens).
fn harness_connects_or_refused(address: Ipv4Addr) -> bool {
    match TcpStream::connect_timeout(&SocketAddr::from((address, PORT)), Duration::from_secs(2)) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
    }
}

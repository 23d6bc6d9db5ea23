//! Headless Chromium for tests, driven by chromedriver over the W3C WebDriver HTTP protocol
//! (Debian's `chromium` and `chromium-driver` packages, which `scripts/setup` installs). The
//! browser runs with a fresh profile and without background networking; chromedriver and
//! Chromium share one process group, killed when the [`Browser`] drops.

use super::GroupGuard;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

/// Chromium's flags: headless, no sandbox (tests run as root in CI), and nothing that reaches
/// for the network by itself.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
];

fn find(program: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let path = format!("{dir}/{program}");
        if std::path::Path::new(&path).exists() {
            return path;
        }
    }
    panic!(
        "{program} is not installed: run scripts/setup (it installs Debian's chromium and chromium-driver)"
    );
}

/// A WebDriver session in headless Chromium.
pub struct Browser {
    base: String,
    session: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    // Dropped after the fields above: kills chromedriver and Chromium.
    _driver: GroupGuard,
    pub profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session.
    pub fn start() -> Browser {
        let chromium = find("chromium");
        let driver_bin = find("chromedriver");
        let mut cmd = Command::new(driver_bin);
        cmd.arg("--port=0");
        let mut driver = GroupGuard::spawn(cmd);
        let line = driver.wait_for_line("started successfully on port", Duration::from_secs(30));
        let port: u16 = line
            .rsplit("port ")
            .next()
            .and_then(|p| p.trim().trim_end_matches('.').parse().ok())
            .unwrap_or_else(|| panic!("no port in chromedriver's line {line:?}"));
        let profile = tempfile::tempdir().expect("profile dir");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}");
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let reply = runtime.block_on(async {
            let r = client.post(format!("{base}/session")).json(&caps).send().await?;
            r.json::<Value>().await
        });
        let reply = reply.unwrap_or_else(|e| panic!("chromedriver did not answer: {e}"));
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {reply}"))
            .to_string();
        Browser {
            base,
            session,
            client,
            runtime,
            _driver: driver,
            profile,
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let reply = self.runtime.block_on(async {
            let mut req = self.client.request(method, &url).timeout(Duration::from_secs(60));
            if let Some(b) = body {
                req = req.json(&b);
            }
            req.send().await?.json::<Value>().await
        });
        let reply = reply.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        if let Some(err) = reply["value"].get("error") {
            panic!("WebDriver {path}: {err}: {}", reply["value"]["message"]);
        }
        reply["value"].clone()
    }

    /// Opens a URL and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
    }

    /// Runs a script (a function body; `return` gives the result) in the page.
    pub fn script(&self, body: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": body, "args": []})),
        )
    }

    /// The WebDriver id of the first element matching a CSS selector.
    fn element(&self, css: &str) -> String {
        let found = self.call(
            reqwest::Method::POST,
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// Clicks the first element matching a CSS selector.
    pub fn click(&self, css: &str) {
        let id = self.element(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    /// Drags the mouse from the centre of the first element matching `css`, `dx` pixels
    /// sideways, with real pointer events.
    pub fn drag(&self, css: &str, dx: i64) {
        let id = self.element(css);
        let origin = json!({ "element-6066-11e4-a52e-4f735466cecf": id });
        let actions = json!({"actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerMove", "duration": 200, "x": dx, "y": 0, "origin": "pointer"},
                {"type": "pointerUp", "button": 0},
            ],
        }]});
        self.call(reqwest::Method::POST, "/actions", Some(actions));
    }

    /// Console messages of level SEVERE (uncaught errors, failed loads) since the last call.
    pub fn severe_logs(&self) -> Vec<String> {
        let logs = self.call(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"})));
        logs.as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["level"] == "SEVERE")
            .map(|l| l["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Close Chromium politely; the process-group guard kills whatever remains.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.runtime.block_on(async {
            self.client
                .delete(&url)
                .timeout(Duration::from_secs(10))
                .send()
                .await
        });
    }
}

//! `faultline serve [DIR]`: a small web server over a directory of runs (default
//! `histories/runs`), on 127.0.0.1 unless told otherwise. `/` lists the runs; `/runs/<run>/...`
//! serves a run's files, drawing `report.html` on the fly when a run has none yet. Nothing
//! outside the directory is ever served (see [`files::resolve`]).

pub mod files;
pub mod index;

use crate::exit::BadInput;
use anyhow::Context;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use clap::Args;
use files::{Refusal, content_type, resolve};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `faultline serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The directory of runs to serve.
    #[arg(default_value = "histories/runs")]
    pub dir: PathBuf,
    /// The address to listen on; port 0 picks a free port. Anything but a loopback address
    /// shows the runs to the network.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// What every request handler sees.
struct Served {
    /// The served directory, canonical.
    root: PathBuf,
}

/// Runs `faultline serve` until Ctrl-C.
pub fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let root = args
        .dir
        .canonicalize()
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| BadInput(format!("{}: no such directory to serve", args.dir.display())))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(root, args.listen))?;
    Ok(crate::exit::VALID)
}

/// The routes.
fn router(root: PathBuf) -> Router {
    Router::new()
        .route("/", get(index_page))
        .route("/runs/{*path}", get(run_file))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(Arc::new(Served { root }))
}

async fn serve(root: PathBuf, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    // Tests and scripts read this line to learn the port.
    println!("faultline serve: http://{addr}/ serving {}", root.display());
    if !addr.ip().is_loopback() {
        eprintln!(
            "faultline serve: warning: {addr} is not a loopback address; the runs are visible to the network"
        );
    }
    axum::serve(listener, router(root))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}

async fn index_page(State(served): State<Arc<Served>>) -> Response {
    let root = served.root.clone();
    let page =
        tokio::task::spawn_blocking(move || index::runs(&root).map(|runs| index::render_index(&root, &runs)))
            .await;
    match page {
        Ok(Ok(html)) => Html(html).into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot list the runs: {e}"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

async fn run_file(State(served): State<Arc<Served>>, UrlPath(path): UrlPath<String>) -> Response {
    let root = served.root.clone();
    match resolve(&root, &path) {
        Err(Refusal::Outside) => error(StatusCode::FORBIDDEN, "refused: outside the served directory"),
        Ok(real) if real.is_dir() => {
            if real.join("history.jsonl").is_file() {
                let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
                Redirect::to(&format!("/runs/{}/report.html", index::url_segment(name))).into_response()
            } else {
                error(StatusCode::NOT_FOUND, "not a run directory")
            }
        }
        Ok(real) => match tokio::fs::read(&real).await {
            Ok(bytes) => (
                [
                    (header::CONTENT_TYPE, content_type(&real)),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                bytes,
            )
                .into_response(),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot read the file: {e}"),
            ),
        },
        Err(Refusal::NotFound) => missing(&root, &path).await,
    }
}

/// A missing `report.html` of a run with a history is drawn on the fly; anything else is 404.
async fn missing(root: &std::path::Path, path: &str) -> Response {
    let Some(dir) = path.strip_suffix("/report.html") else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let Ok(run_dir) = resolve(root, dir) else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    if !run_dir.join("history.jsonl").is_file() {
        return error(StatusCode::NOT_FOUND, "not found");
    }
    let page = tokio::task::spawn_blocking(move || crate::report::render_run_dir(&run_dir, None)).await;
    match page {
        Ok(Ok(html)) => Html(html).into_response(),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot draw the report: {e:#}"),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

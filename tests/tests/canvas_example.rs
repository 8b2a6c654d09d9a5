//! The canvas example (`examples/canvas/`, its files used in place) run by a real worker: the
//! chord of `chord.json` (Python members in a warm pool, a Node member, a shell `exec` body)
//! gives 34 through `stem canvas submit --wait`, and `submit.py` builds the same chord and a
//! failing one with the Python SDK — the failing chord's body never runs, its `link_error` runs
//! once.

use std::process::Command;
use std::time::Duration;
use stem_e2e::{repo_root, stem_bin, wait_for, Env};

#[test]
fn canvas_example_chord_across_languages() {
    let example = repo_root().join("examples/canvas");
    let manifest = example.join("stem.toml");
    let env = Env::new();
    let sdk = repo_root().join("sdk-python");
    let _worker = env.worker_on(
        &manifest,
        &["--concurrency", "4"],
        &[
            ("PYTHONPATH", sdk.to_str().unwrap()),
            ("STEM_LOG", "info,stem::observe::log=debug"),
        ],
    );

    let chord = example.join("chord.json");
    let out = env.stem(&[
        "canvas",
        "submit",
        chord.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--wait",
        "--json",
        "--timeout",
        "90",
    ]);
    let view = out.success().json();
    assert_eq!(view["state"], "success", "{view}\n{}", env.worker_logs());
    assert_eq!(view["result"], 34, "{view}");
    let nodes = view["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 6, "{view}");
    assert_eq!(nodes[4]["task"], "word_count", "{view}");
    assert_eq!(nodes[5]["path"], "chord.body", "{view}");

    let sdk_run = Command::new("python3")
        .arg(example.join("submit.py"))
        .current_dir(env.path())
        .env("STEM_BIN", stem_bin())
        .env("STEM_BROKER_URL", env.broker_url())
        .env("STEM_MANIFEST", &manifest)
        .env_remove("STEM_RESULT_BACKEND_URL")
        .env_remove("STEM_NAMESPACE")
        .output()
        .expect("run submit.py");
    let stdout = String::from_utf8_lossy(&sdk_run.stdout);
    assert!(
        sdk_run.status.success() && stdout.trim_end().ends_with("ok"),
        "submit.py: {stdout}\n{}\n{}",
        String::from_utf8_lossy(&sdk_run.stderr),
        env.worker_logs()
    );
    let errbacks = || env.read("worker-0.log").matches("link_error: ").count();
    assert!(
        wait_for(Duration::from_secs(30), || errbacks() >= 1),
        "{}",
        env.worker_logs()
    );
    std::thread::sleep(Duration::from_millis(500)); // room for a second run, were there one
    assert_eq!(errbacks(), 1, "{}", env.worker_logs());
}

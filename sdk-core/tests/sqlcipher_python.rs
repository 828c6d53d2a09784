//! An independent client reads the store: Python's `sqlcipher3` module (PyPI package
//! `sqlcipher3-wheels`, its own SQLCipher build with default settings) opens the file with
//! the raw key and lists the schema, and without the key is told "file is not a database".
//!
//! scripts/setup installs the package. When python3 or the package is missing this test
//! fails and says so: a skipped check would look like a passed one.

#![cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]

mod common;

use std::process::Command;

use common::block_on;
use common::sqlcipher_files::{db_path, hex, key, temp_dir};
use common::store_contract::one_of_each;
use sotto_core::store::{SqlCipherStore, Store};

/// The PyPI package scripts/setup pins.
const PACKAGE: &str = "sqlcipher3-wheels==0.5.7";

/// The tables of schema v1. A new schema version adds its tables here.
const TABLES: [&str; 14] = [
    "attachments",
    "contacts",
    "identity",
    "kyber_base_key_uses",
    "kyber_pre_keys",
    "messages",
    "outbox",
    "pre_keys",
    "receive_queues",
    "remote_identities",
    "send_queues",
    "sessions",
    "settings",
    "signed_pre_keys",
];

const SCRIPT: &str = r#"
import json, sys
try:
    import sqlcipher3
except ImportError as e:
    print("IMPORT-ERROR", e)
    sys.exit(3)
path, key_hex = sys.argv[1], sys.argv[2]

def attempt(pragma):
    conn = sqlcipher3.connect(path)
    try:
        if pragma:
            conn.execute(pragma)
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        name = conn.execute("SELECT display_name FROM identity").fetchone()[0]
        cipher = conn.execute("PRAGMA cipher_version").fetchone()[0]
        return {"tables": tables, "user_version": version, "display_name": name,
                "cipher_version": cipher}
    except sqlcipher3.DatabaseError as e:
        return {"error": str(e)}
    finally:
        conn.close()

print(json.dumps({
    "with_key": attempt("PRAGMA key = \"x'%s'\"" % key_hex),
    "without_key": attempt(None),
    "wrong_key": attempt("PRAGMA key = \"x'%s'\"" % ("00" * 32)),
}))
"#;

#[test]
fn python_sqlcipher_reads_the_schema_with_the_key_and_nothing_without_it() {
    let dir = temp_dir();
    let path = db_path(&dir);
    {
        let store = SqlCipherStore::create(&path, &key(0x11)).unwrap();
        block_on(store.apply(one_of_each(0xA0))).unwrap();
    }
    let output = match Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(&path)
        .arg(hex(key(0x11).as_bytes()))
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("python3 could not be run ({e}); run scripts/setup, which needs python3"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        panic!(
            "the Python module sqlcipher3 is missing ({}); run scripts/setup, which installs it \
             with `python3 -m pip install {PACKAGE}`",
            stdout.trim()
        );
    }
    assert!(
        output.status.success(),
        "python3 failed:\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("unreadable report ({e}): {stdout}\n{stderr}"));

    let with_key = &report["with_key"];
    assert_eq!(with_key["tables"], serde_json::json!(TABLES), "{report}");
    assert_eq!(
        with_key["user_version"],
        SqlCipherStore::SCHEMA_VERSION,
        "{report}"
    );
    assert_eq!(with_key["display_name"], "first", "{report}");
    assert!(
        with_key["cipher_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.")),
        "{report}"
    );
    for attempt in ["without_key", "wrong_key"] {
        assert_eq!(
            report[attempt]["error"], "file is not a database",
            "{attempt}: {report}"
        );
    }
}

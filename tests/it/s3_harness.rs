//! Self-tests of the S3 test infrastructure: the Garage test server, the SDK client the
//! harness builds, and the fault proxy. The sync tests rely on all three; these make sure
//! a sync test failure is about sync.
//!
//! Skipped (with a notice) when Garage is not installed, unless `CI` is set.

use std::time::{Duration, Instant};

use audiovault_tests::s3::FailureKind;
use audiovault_tests::{Fault, FaultProxy, Garage, Retries, S3Client, S3Failure, S3Target};

/// A client of `garage`'s default bucket through `proxy`.
fn via(proxy: &FaultProxy, garage: &Garage, retries: Retries) -> S3Client {
    S3Client::new(
        &S3Target {
            endpoint: proxy.endpoint(),
            ..garage.target()
        },
        retries,
    )
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(r: Result<T, S3Failure>, what: &str) -> S3Failure {
    match r {
        Ok(v) => panic!("{what}: expected a failure, got {v:?}"),
        Err(e) => e,
    }
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

#[test]
fn garage_put_get_list_delete() {
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    assert!(garage.endpoint().starts_with("http://127.0.0.1:"));
    assert_eq!(garage.region(), "garage");
    assert_eq!(garage.list_keys(""), vec![], "a fresh bucket is empty");

    let one = bytes(1, 1000);
    let two = bytes(2, 3 << 20); // several MiB: bigger than one socket buffer
    garage.put("pack/one", &one);
    garage.put("pack/two", &two);
    garage.put("catalogs/0001-dev", b"manifest");
    assert_eq!(
        garage.list_keys("pack/"),
        vec![
            ("pack/one".to_owned(), one.len() as u64),
            ("pack/two".to_owned(), two.len() as u64)
        ]
    );
    assert_eq!(garage.list_keys("").len(), 3);
    assert_eq!(garage.get("pack/one"), one);
    assert!(
        garage.get("pack/two") == two,
        "3 MiB object read back differs"
    );
    assert_eq!(garage.client().head("pack/two"), Some(two.len() as u64));
    assert_eq!(garage.client().head("pack/none"), None);

    // Overwrite, then delete.
    garage.put("pack/one", b"replaced");
    assert_eq!(garage.get("pack/one"), b"replaced");
    garage.delete("pack/one");
    assert_eq!(
        garage.list_keys("pack/"),
        vec![("pack/two".to_owned(), two.len() as u64)]
    );
    let missing = expect_err(garage.client().try_get("pack/one"), "get a deleted key");
    assert_eq!(missing.status, Some(404), "{missing}");
    assert_eq!(missing.code.as_deref(), Some("NoSuchKey"), "{missing}");

    // A second bucket, separate from the first, usable with the same key.
    garage.create_bucket("second-bucket");
    let second = S3Client::new(&garage.target_for("second-bucket"), Retries::Disabled);
    assert_eq!(second.list_keys(""), vec![]);
    second.put("x", b"in the second bucket");
    assert_eq!(second.get("x"), b"in the second bucket");
    assert_eq!(garage.list_keys("x").len(), 0, "buckets are separate");

    // Wrong credentials are refused: the server really checks signatures.
    let wrong = S3Client::new(
        &S3Target {
            secret_key: "0".repeat(64),
            ..garage.target()
        },
        Retries::Disabled,
    );
    let denied = expect_err(wrong.try_list(""), "list with a wrong secret key");
    assert_eq!(denied.status, Some(403), "{denied}");
}

#[test]
fn proxy_forwards_and_counts() {
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    let proxy = FaultProxy::start(garage.s3_addr());
    let client = via(&proxy, &garage, Retries::Disabled);

    let big = bytes(7, 5 << 20);
    client.put("a", b"first");
    client.put("dir/b", &big);
    assert_eq!(client.get("a"), b"first");
    assert!(
        client.get("dir/b") == big,
        "5 MiB object through the proxy differs"
    );
    assert_eq!(client.head("dir/b"), Some(big.len() as u64));
    assert_eq!(client.head("nothing"), None); // HEAD 404: no body to read
    assert_eq!(
        client.list_keys(""),
        vec![("a".to_owned(), 5), ("dir/b".to_owned(), big.len() as u64)]
    );
    client.delete("a");
    // What went through the proxy is what the server has.
    assert_eq!(
        garage.list_keys(""),
        vec![("dir/b".to_owned(), big.len() as u64)]
    );

    assert_eq!(proxy.requests(), 8);
    assert_eq!(proxy.received("PUT"), 2);
    assert_eq!(proxy.received("GET"), 3); // 2 objects + 1 list
    assert_eq!(proxy.received("HEAD"), 2);
    assert_eq!(proxy.received("DELETE"), 1);
    assert_eq!(proxy.puts(), 2);
    assert_eq!(proxy.gets(), 3);
    assert_eq!(proxy.succeeded("HEAD"), 1, "the 404 HEAD is not a success");
    assert_eq!(proxy.deletes(), 1);
    assert_eq!(proxy.faults_injected(), 0);
    assert_eq!(
        proxy.put_keys(),
        vec!["/audiovault-test/a", "/audiovault-test/dir/b"]
    );
    // Keep-alive: one client, sequential calls, so connections are reused. Not
    // exactly one: the client's pool may open a second when a request starts
    // before the last answer's connection is back in the pool (seen under load).
    // Without keep-alive it would be one per request.
    assert!(
        proxy.connections() * 2 <= proxy.requests(),
        "the proxy should keep connections alive: {} connections for {} requests",
        proxy.connections(),
        proxy.requests()
    );

    proxy.reset_counters();
    assert_eq!((proxy.requests(), proxy.puts()), (0, 0));
    assert!(proxy.put_keys().is_empty());
}

#[test]
fn proxy_status_faults_reach_a_client_without_retries() {
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    let proxy = FaultProxy::start(garage.s3_addr());
    let client = via(&proxy, &garage, Retries::Disabled);

    proxy.fail_next(2, Fault::Status503);
    assert_eq!(proxy.pending_faults(), 2);
    let e = expect_err(client.try_put("k", b"v1"), "put under a 503");
    assert_eq!(e.kind, FailureKind::Service, "{e}");
    assert_eq!(e.status, Some(503), "{e}");
    assert_eq!(e.code.as_deref(), Some("ServiceUnavailable"), "{e}");
    let e = expect_err(client.try_put("k", b"v1"), "second put under a 503");
    assert_eq!(e.status, Some(503), "{e}");
    assert_eq!(proxy.pending_faults(), 0);
    client.put("k", b"v1");
    assert_eq!(garage.get("k"), b"v1");
    assert_eq!(proxy.requests(), 3);
    assert_eq!(proxy.received("PUT"), 3);
    assert_eq!(proxy.puts(), 1, "only the forwarded PUT counts");
    assert_eq!(proxy.put_keys(), vec!["/audiovault-test/k"]);
    assert_eq!(proxy.faults_injected(), 2);

    proxy.fail_next(1, Fault::SlowDown);
    let e = expect_err(client.try_get("k"), "get under SlowDown");
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(503), Some("SlowDown")),
        "{e}"
    );

    proxy.fail_next(1, Fault::Status500);
    let e = expect_err(client.try_list(""), "list under a 500");
    assert_eq!(
        (e.status, e.code.as_deref()),
        (Some(500), Some("InternalError")),
        "{e}"
    );

    // A HEAD gets the status without a body, and the connection stays usable.
    proxy.fail_next(1, Fault::Status503);
    let e = expect_err(client.try_head("k"), "head under a 503");
    assert_eq!(e.status, Some(503), "{e}");
    assert_eq!(client.get("k"), b"v1");

    // A standing fault lasts until cleared.
    proxy.fail_all(Fault::Status500);
    for i in 0..3 {
        let e = expect_err(client.try_get("k"), &format!("get {i} under fail_all"));
        assert_eq!(e.status, Some(500), "{e}");
    }
    proxy.clear();
    assert_eq!(client.get("k"), b"v1");
    assert_eq!(proxy.puts(), 1, "no PUT was forwarded by the faulted calls");
}

#[test]
fn sdk_retries_through_transient_503s() {
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    let proxy = FaultProxy::start(garage.s3_addr());
    let client = via(&proxy, &garage, Retries::Standard);
    proxy.fail_next(2, Fault::Status503);
    client.put("retried", b"made it"); // 3 attempts: 503, 503, 200
    assert_eq!(proxy.received("PUT"), 3);
    assert_eq!(proxy.puts(), 1);
    assert_eq!(garage.get("retried"), b"made it");
}

#[test]
fn proxy_drop_connection_and_delay() {
    let Some(garage) = Garage::start_or_skip() else {
        return;
    };
    garage.put("obj", b"payload");
    let proxy = FaultProxy::start(garage.s3_addr());
    let client = via(&proxy, &garage, Retries::Disabled);

    assert_eq!(client.get("obj"), b"payload");
    proxy.fail_next(1, Fault::DropConnection);
    let e = expect_err(client.try_get("obj"), "get on a dropped connection");
    assert_eq!(e.status, None, "no response was sent: {e}");
    // hyper: "connection closed before message completed", a transient dispatch failure.
    assert_eq!(
        e.kind,
        FailureKind::Dispatch,
        "a dropped connection is a connection error: {e}"
    );
    // A PUT whose connection is dropped never reaches the server.
    proxy.fail_next(1, Fault::DropConnection);
    expect_err(
        client.try_put("dropped", b"x"),
        "put on a dropped connection",
    );
    assert_eq!(garage.client().head("dropped"), None);
    assert_eq!(proxy.puts(), 0);
    // The client reconnects.
    assert_eq!(client.get("obj"), b"payload");
    assert!(
        proxy.connections() >= 2,
        "dropped connections are not reused"
    );
    assert_eq!(proxy.requests(), 4);

    proxy.fail_next(1, Fault::Delay(Duration::from_millis(400)));
    let t = Instant::now();
    assert_eq!(client.get("obj"), b"payload");
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "delay not applied: {:?}",
        t.elapsed()
    );
    assert_eq!(proxy.gets(), 3);
}

#[test]
fn garage_stop_and_restart_keep_data() {
    let Some(mut garage) = Garage::start_or_skip() else {
        return;
    };
    let data = bytes(9, 200_000);
    garage.put("kept/a", &data);
    garage.create_bucket("other");
    let endpoint = garage.endpoint();

    garage.stop();
    assert!(!garage.is_running());
    let down = S3Client::new(&garage.target(), Retries::Disabled);
    let e = expect_err(down.try_list(""), "list while the server is stopped");
    assert_eq!(e.status, None, "{e}");

    garage.restart();
    assert!(garage.is_running());
    assert_eq!(garage.endpoint(), endpoint, "same port after restart");
    assert_eq!(
        garage.list_keys(""),
        vec![("kept/a".to_owned(), data.len() as u64)]
    );
    assert!(
        garage.get("kept/a") == data,
        "object changed across a restart"
    );
    let other = S3Client::new(&garage.target_for("other"), Retries::Disabled);
    assert_eq!(other.list_keys(""), vec![]);
    // Still writable.
    garage.put("kept/b", b"after restart");
    assert_eq!(garage.list_keys("kept/").len(), 2);
}

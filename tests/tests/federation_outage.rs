//! A province keeps serving its cities while the national hub is down, shows the
//! broken link in its status, and catches up once the hub returns; afterwards every
//! store's indexes verify against its records.

use std::time::Duration;

use credithub_node::admin::AdminRequest;
use credithub_node::Store;
use credithub_protocol::testing::body_about;
use credithub_protocol::RecordKind;
use credithub_scenarios::federation::check::converge;
use credithub_scenarios::federation::cluster::{call, status, Cluster};

mod common;

use common::rogue::three_tier;

#[test]
fn a_province_serves_its_cities_while_the_national_hub_is_down() {
    let dir = tempfile::tempdir().expect("tmp");
    let specs = three_tier();
    let mut cluster = Cluster::start(
        &dir.path().join("fed"),
        specs,
        vec![RecordKind::BLACK_LIST],
        Duration::from_millis(300),
    )
    .expect("federation starts");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let jiangsu = cluster.admin(1).await.expect("jiangsu");
        let nanjing = cluster.admin(2).await.expect("nanjing");
        cluster.admin(0).await.expect("national").close().await;

        cluster.stop_node(0, true);
        let put = |n: u32| AdminRequest::Put {
            records: vec![(RecordKind::PENALTY, body_about(n, "320105"))],
        };
        call(&nanjing, &put(1)).await.expect("write at nanjing");
        // The record reaches the province although its parent is gone.
        let mut reached = false;
        for _ in 0..200 {
            let st = status(&jiangsu).await.expect("status");
            let parent = st.parent.clone().expect("has a parent");
            if st.report.records == 1 && !parent.connected && parent.last_error.is_some() {
                reached = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            reached,
            "jiangsu stores nanjing's record and reports its parent unreachable: {:?}",
            status(&jiangsu).await
        );

        cluster.start_node(0).expect("national restarts");
        let national = cluster.admin(0).await.expect("national back");
        let clients = [national, jiangsu, nanjing];
        let (checks, _, ok) = converge(&cluster, &clients, Duration::from_secs(120))
            .await
            .expect("checks");
        assert!(ok, "everything converges once the hub is back: {checks:?}");
        let st = status(&clients[1]).await.expect("status");
        assert!(st
            .parent
            .is_some_and(|p| p.connected && p.last_error.is_none()));
        for c in clients {
            c.close().await;
        }
    });
    for i in 0..cluster.nodes.len() {
        cluster.stop_node(i, false);
        let store = Store::open(&cluster.nodes[i].dir.join("data"), None).expect("store opens");
        let report = store.verify(|_| {}).expect("verify runs");
        assert!(
            report.is_clean(),
            "{}: {:?}",
            cluster.nodes[i].spec.name,
            report.problems
        );
    }
}

use std::sync::{Arc, Mutex};

use aws_sdk_elasticloadbalancingv2::operation::add_listener_certificates::AddListenerCertificatesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_listener_certificates::DescribeListenerCertificatesOutput;
use aws_sdk_elasticloadbalancingv2::operation::modify_listener::ModifyListenerOutput;
use aws_sdk_elasticloadbalancingv2::operation::remove_listener_certificates::RemoveListenerCertificatesOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

use super::*;

const L: &str = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/web/1/2";

fn on(default: &'static str, sni: &'static [&'static str]) -> Rule {
    mock!(Client::describe_listener_certificates)
        .match_requests(|r| r.listener_arn() == Some(L))
        .then_output(move || {
            let mut out = DescribeListenerCertificatesOutput::builder().certificates(
                Certificate::builder()
                    .certificate_arn(default)
                    .is_default(true)
                    .build(),
            );
            for s in sni {
                out = out.certificates(
                    Certificate::builder()
                        .certificate_arn(*s)
                        .is_default(false)
                        .build(),
                );
            }
            out.build()
        })
}

/// Which writes were sent, in order: ("add"|"modify"|"remove", certificate).
type Sent = Arc<Mutex<Vec<(&'static str, String)>>>;

fn writes(sent: &Sent) -> [Rule; 3] {
    let (a, m, r) = (sent.clone(), sent.clone(), sent.clone());
    [
        mock!(Client::add_listener_certificates)
            .match_requests(move |req| {
                let c = req.certificates()[0].certificate_arn().unwrap().to_string();
                a.lock().unwrap().push(("add", c));
                true
            })
            .then_output(|| AddListenerCertificatesOutput::builder().build()),
        mock!(Client::modify_listener)
            .match_requests(move |req| {
                let c = req.certificates()[0].certificate_arn().unwrap().to_string();
                m.lock().unwrap().push(("modify", c));
                true
            })
            .then_output(|| ModifyListenerOutput::builder().build()),
        mock!(Client::remove_listener_certificates)
            .match_requests(move |req| {
                let c = req.certificates()[0].certificate_arn().unwrap().to_string();
                r.lock().unwrap().push(("remove", c));
                true
            })
            .then_output(|| RemoveListenerCertificatesOutput::builder().build()),
    ]
}

async fn swap(read: Rule, from: &str) -> Vec<(&'static str, String)> {
    let sent: Sent = Arc::default();
    let [add, modify, remove] = writes(&sent);
    let client = mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        [&read, &add, &modify, &remove]
    );
    Listeners::new(client, "eu-west-1")
        .update_certificate(L, Some(from), "new")
        .await
        .unwrap();
    let sent = sent.lock().unwrap().clone();
    sent
}

#[tokio::test]
async fn an_old_default_is_replaced_by_modify_listener_alone() {
    assert_eq!(
        swap(on("old", &["other"]), "old").await,
        [("modify", "new".to_string())]
    );
}

#[tokio::test]
async fn an_old_sni_certificate_gets_the_new_one_beside_it_until_released() {
    assert_eq!(
        swap(on("default", &["old"]), "old").await,
        [("add", "new".to_string())]
    );
}

#[tokio::test]
async fn an_old_default_also_in_the_sni_list_is_replaced_in_both() {
    // terraform-provider-aws #8620: the default moved, the SNI list kept the old one, and
    // clients that sent the name still got it.
    assert_eq!(
        swap(on("old", &["old"]), "old").await,
        [("add", "new".to_string()), ("modify", "new".to_string())]
    );
}

#[tokio::test]
async fn steps_already_made_are_not_made_again() {
    assert_eq!(
        swap(on("old", &["old", "new"]), "old").await,
        [("modify", "new".to_string())]
    );
    assert_eq!(swap(on("new", &[]), "old").await, []);
}

#[tokio::test]
async fn release_removes_the_old_one_only_when_the_new_one_is_on_the_listener() {
    for (read, removed) in [
        (on("default", &["old", "new"]), true),
        (on("new", &["old"]), true),
        // The new one is not there: removing the old one would leave the name uncovered.
        (on("default", &["old"]), false),
        // Not in the SNI list (a replaced default is gone already).
        (on("new", &[]), false),
    ] {
        let sent: Sent = Arc::default();
        let [add, modify, remove] = writes(&sent);
        let client = mock_client!(
            aws_sdk_elasticloadbalancingv2,
            RuleMode::MatchAny,
            [&read, &add, &modify, &remove]
        );
        let did = Listeners::new(client, "eu-west-1")
            .release(L, "old", "new")
            .await
            .unwrap();
        assert_eq!(did, removed);
        let expected: Vec<(&str, String)> = if removed {
            vec![("remove", "old".to_string())]
        } else {
            vec![]
        };
        assert_eq!(*sent.lock().unwrap(), expected);
    }
}

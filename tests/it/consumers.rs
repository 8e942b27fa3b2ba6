//! Consumers beyond Cognito, end to end on the emulator and the TLS edge: a CloudFront
//! distribution, an API Gateway custom domain and a load balancer listener moved, verified,
//! rolled back; a CloudFront ETag race; a listener whose old certificate is in its SNI list;
//! every kind in one configuration.

use crate::support::*;

#[tokio::test]
async fn a_distribution_is_moved_verified_and_left_alone_the_next_time() {
    let s = stage(&["--edge-delay", "2", "--updating-seconds", "1"]);
    let (old, new) = pair(&s, WWW, 0x0c01).await;
    let id = distribution(&s.emu, &old.arn).await;
    let config = consumer_config(
        &s,
        "30s",
        "",
        &format!("  - domain: {WWW}\n    cloudfront_distribution_id: {id}\n"),
    );

    let run = once_verified(&s, &config, "www.example.com");
    // While the distribution was InProgress and the edge lagged, the old serial was served.
    assert!(
        run.stderr
            .contains(&format!("serves serial {}", old.serial_hex)),
        "{}",
        run.stderr
    );
    assert_eq!(s.emu.count("UpdateDistribution"), 1);
    let (arn, tls, comment) = distribution_state(&s.emu, &id).await;
    assert_eq!(arn, new.arn);
    assert_eq!(tls, "TLSv1.2_2021", "the TLS policy is sent back as read");
    assert_eq!(comment, "the site");

    let again = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("www.example.com: kept"),
        "{}",
        again.stderr
    );
    assert_eq!(s.emu.count("UpdateDistribution"), 1, "no needless write");
}

#[tokio::test]
async fn a_concurrent_distribution_change_is_read_again_and_kept() {
    let s = stage(&[]);
    let (old, new) = pair(&s, WWW, 0x0d01).await;
    let id = distribution(&s.emu, &old.arn).await;
    let config = consumer_config(
        &s,
        "30s",
        "",
        &format!("  - domain: {WWW}\n    cloudfront_distribution_id: {id}\n"),
    );
    // Someone changes the distribution between the rotator's read and its write, once.
    s.emu.cloudfront_race(&id, 1);

    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("PreconditionFailed"), "{}", run.stderr);
    assert_eq!(
        s.emu.count("UpdateDistribution"),
        2,
        "one refused (PreconditionFailed), one made after a fresh read"
    );
    assert_eq!(s.emu.count("GetDistributionConfig"), 2);
    let (arn, _, comment) = distribution_state(&s.emu, &id).await;
    assert_eq!(arn, new.arn);
    assert_eq!(
        comment, "changed by someone else 0",
        "the other writer's change is kept, not overwritten by the stale config"
    );
}

#[tokio::test]
async fn a_regional_api_domain_takes_a_certificate_from_its_region() {
    let s = stage(&["--edge-delay", "1", "--updating-seconds", "1"]);
    let regional = s.emu.acm_in(API_REGION);
    let old = import_with(&regional, &s.ca, Leaf::new(API, 20, 0x0e01)).await;
    let new = import_with(&regional, &s.ca, Leaf::new(API, 90, 0x0e02)).await;
    // A newer certificate in us-east-1 is not for a regional domain, however long it lasts.
    let elsewhere = import(&s.emu, &s.ca, Leaf::new(API, 300, 0x0e03)).await;
    api_domain(&s.emu, &old.arn).await;
    let config = consumer_config(
        &s,
        "30s",
        "",
        &format!("  - domain: {API}\n    api_gateway_region: {API_REGION}\n"),
    );

    let plan = s.emu.run(&["plan", "-c", &config]);
    assert!(
        plan.stdout.contains("(API Gateway domain api.example.com)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!("candidate: {}", new.arn)),
        "the regional certificate, not the longer-lived one in us-east-1: {}",
        plan.stdout
    );
    once_verified(&s, &config, "api.example.com");
    assert_eq!(s.emu.count("UpdateDomainName"), 1);
    assert_eq!(
        api_domain_arn(&s.emu).await.as_deref(),
        Some(new.arn.as_str())
    );
    assert_ne!(new.arn, elsewhere.arn);
}

#[tokio::test]
async fn a_failed_verification_rolls_each_kind_back() {
    // The edge never moves: every swap fails verification and is rolled back.
    let s = stage(&["--edge-stale"]);
    let (www_old, _) = pair(&s, WWW, 0x0f01).await;
    let id = distribution(&s.emu, &www_old.arn).await;
    let regional = s.emu.acm_in(API_REGION);
    let api_old = import_with(&regional, &s.ca, Leaf::new(API, 20, 0x0f11)).await;
    import_with(&regional, &s.ca, Leaf::new(API, 90, 0x0f12)).await;
    api_domain(&s.emu, &api_old.arn).await;
    let config = consumer_config(&s,
        "3s",
        "  on_failure: rollback\n",
        &format!(
            "  - domain: {WWW}\n    cloudfront_distribution_id: {id}\n  - domain: {API}\n    api_gateway_region: {API_REGION}\n"
        ),
    );

    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for domain in [WWW, API] {
        assert!(
            run.stderr
                .contains(&format!("{domain}: rotated-rolled-back"))
                || run
                    .stderr
                    .contains("rolled back to the previous certificate"),
            "{domain}: {}",
            run.stderr
        );
    }
    assert_eq!(distribution_state(&s.emu, &id).await.0, www_old.arn);
    assert_eq!(
        api_domain_arn(&s.emu).await.as_deref(),
        Some(api_old.arn.as_str())
    );
    assert_eq!(
        s.emu.count("UpdateDistribution"),
        2,
        "the swap and its rollback"
    );
    assert_eq!(
        s.emu.count("UpdateDomainName"),
        2,
        "the swap and its rollback"
    );
}

#[tokio::test]
async fn every_kind_in_one_configuration_is_planned_and_moved() {
    let s = stage(&[]);
    let (auth_old, _) = pair(&s, "auth.example.com", 0x1001).await;
    let pool = pool_with_domain(&s.emu, REGION, "auth.example.com", &auth_old.arn, 2).await;
    let (www_old, www_new) = pair(&s, WWW, 0x1011).await;
    let id = distribution(&s.emu, &www_old.arn).await;
    let regional = s.emu.acm_in(API_REGION);
    let api_old = import_with(&regional, &s.ca, Leaf::new(API, 20, 0x1021)).await;
    let api_new = import_with(&regional, &s.ca, Leaf::new(API, 90, 0x1022)).await;
    api_domain(&s.emu, &api_old.arn).await;
    let app_old = import_with(&regional, &s.ca, Leaf::new(APP, 20, 0x1031)).await;
    let app_new = import_with(&regional, &s.ca, Leaf::new(APP, 90, 0x1032)).await;
    let arn = listener(&s.emu, &app_old.arn, &[]);
    let config = consumer_config(&s,
        "30s",
        "",
        &format!(
            "  - domain: auth.example.com\n    user_pool_id: {pool}\n  - domain: {WWW}\n    cloudfront_distribution_id: {id}\n  - domain: {API}\n    api_gateway_region: {API_REGION}\n  - domain: {APP}\n    listener_arn: {arn}\n"
        ),
    );

    let plan = s.emu.run(&["plan", "-c", &config, "--output", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = plan["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["kind"].as_str().unwrap(), t["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("cognito", "rotate"),
            ("cloudfront", "rotate"),
            ("api_gateway", "rotate"),
            ("listener", "rotate"),
        ]
    );
    assert_eq!(plan["targets"][1]["consumer"], id.as_str());
    assert!(plan["targets"][1].get("user_pool_id").is_none());
    assert_eq!(plan["targets"][0]["user_pool_id"], pool.as_str());
    // One listing per account and region: us-east-1 (Cognito, CloudFront) and eu-west-1 (the
    // API Gateway domain and the listener).
    assert_eq!(s.emu.count("ListCertificates"), 2);

    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for domain in ["auth.example.com", WWW, API, APP] {
        assert!(
            run.stderr.contains(&format!("{domain}: rotated-verified")),
            "{domain}: {}",
            run.stderr
        );
    }
    assert_eq!(distribution_state(&s.emu, &id).await.0, www_new.arn);
    assert_eq!(
        api_domain_arn(&s.emu).await.as_deref(),
        Some(api_new.arn.as_str())
    );

    assert_eq!(listener_state(&arn, &s.emu).await.0, app_new.arn);
    let status = s.emu.run(&["status", "-c", &config, "--output", "json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["targets"][2]["kind"], "api_gateway", "{status}");
}

#[tokio::test]
async fn a_listener_whose_old_certificate_is_also_in_its_sni_list_ends_with_only_the_new_one() {
    // terraform-provider-aws #8620: the default is replaced, the old certificate stays in the
    // SNI list, and clients that send the name keep getting it.
    let s = stage(&[]);
    let regional = s.emu.acm_in(API_REGION);
    let old = import_with(&regional, &s.ca, Leaf::new(APP, 20, 0x1101)).await;
    let new = import_with(&regional, &s.ca, Leaf::new(APP, 90, 0x1102)).await;
    let other = import_with(&regional, &s.ca, Leaf::new("other.example.com", 90, 0x1103)).await;
    let arn = listener(&s.emu, &old.arn, &[&old.arn, &other.arn]);
    let config = consumer_config(
        &s,
        "30s",
        "",
        &format!("  - domain: {APP}\n    listener_arn: {arn}\n"),
    );

    let run = once_verified(&s, &config, "app.example.com");
    assert!(
        run.stderr
            .contains("took the replaced certificate off the listener's SNI list"),
        "{}",
        run.stderr
    );
    let (default, sni) = listener_state(&arn, &s.emu).await;
    assert_eq!(default, new.arn, "the new certificate is the default");
    assert!(sni.contains(&new.arn), "and in the SNI list: {sni:?}");
    assert!(
        !sni.contains(&old.arn),
        "the old one is gone after verification: {sni:?}"
    );
    assert!(
        sni.contains(&other.arn),
        "another domain's certificate is left alone: {sni:?}"
    );

    let again = s.emu.run(&["once", "--wait", "-c", &config]);
    assert!(
        again.stderr.contains("app.example.com: kept"),
        "{}",
        again.stderr
    );
    assert_eq!(s.emu.count("ModifyListener"), 1);
    assert_eq!(s.emu.count("AddListenerCertificates"), 1);
    assert_eq!(s.emu.count("RemoveListenerCertificates"), 1);
}

#[tokio::test]
async fn a_listener_rolled_back_keeps_only_the_old_certificate() {
    // The old certificate is ECDSA, the new one RSA: joined to the SNI list beside the old one,
    // the new one is never what ELB serves (ECDSA first), so its verification fails and the
    // swap is rolled back, taking the new certificate off the listener again.
    let s = stage(&[]);
    let regional = s.emu.acm_in(API_REGION);
    let old = import_with(&regional, &s.ca, Leaf::new(APP, 20, 0x1201)).await;
    let mut rsa = Leaf::new(APP, 90, 0x1202);
    rsa.alg = &rcgen::PKCS_RSA_SHA256;
    let new = import_with(&regional, &s.ca, rsa).await;
    let default = import_with(
        &regional,
        &s.ca,
        Leaf::new("default.example.com", 90, 0x1203),
    )
    .await;
    let arn = listener(&s.emu, &default.arn, &[&old.arn]);
    let config = consumer_config(
        &s,
        "2s",
        "  on_failure: rollback\n",
        &format!("  - domain: {APP}\n    listener_arn: {arn}\n"),
    );

    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("rolled back to the previous certificate"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("took the failed certificate off the listener's SNI list"),
        "{}",
        run.stderr
    );
    let (default_now, sni) = listener_state(&arn, &s.emu).await;
    assert_eq!(default_now, default.arn);
    assert_eq!(
        sni,
        std::slice::from_ref(&old.arn),
        "only the old certificate, as before"
    );
    assert_ne!(new.arn, old.arn);
}

#[test]
fn an_entry_names_exactly_one_consumer() {
    let dir = tempfile::tempdir().unwrap();
    for (entry, says) in [
        ("  - domain: a.example.com\n", "names no consumer"),
        (
            "  - domain: a.example.com\n    user_pool_id: eu-west-1_A\n    cloudfront_distribution_id: E2QWRUHEXAMPLE\n",
            "names user_pool_id and cloudfront_distribution_id",
        ),
        (
            "  - domain: a.example.com\n    listener_arn: arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/web/50dc6c495c0c9188\n",
            "not a listener ARN",
        ),
        (
            "  - domain: a.example.com\n    cloudfront_distribution_id: d111111abcdef8.cloudfront.net\n",
            "not a distribution ID",
        ),
    ] {
        let config = write_config(dir.path(), &format!("domains:\n{entry}"));
        let run = run_binary(&["validate", "-c", config.to_str().unwrap()], &[]);
        assert_eq!(run.code, 2, "{entry}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{entry}: {}", run.stderr);
        assert!(run.stderr.contains("config.yaml:"), "located: {}", run.stderr);
    }
}

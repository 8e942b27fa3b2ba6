//! Retiring the certificate a verified swap replaced (`retire:`), end to end on the emulator:
//! marked unused, then deleted after `retire.after`; never while anything still uses it.

use crate::support::{
    consumer_config, distribution, import, pair, pool_with_domain, stage, Emulator, Leaf, Stage,
    REGION, WWW,
};

/// The certificate `arn` as ACM describes it (`None`: deleted), and its tags.
async fn acm_state(emu: &Emulator, arn: &str) -> Option<Vec<(String, String)>> {
    let acm = emu.acm();
    acm.describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .ok()?;
    let tags = acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .unwrap();
    Some(
        tags.tags()
            .iter()
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    )
}

/// A `once` config for the custom domain of `pool` with `retire:` set to `retire` (its
/// `after` and `action` lines, YAML).
fn retire_config(s: &Stage, pool: &str, retire: &str) -> String {
    let entries = format!("  - domain: auth.example.com\n    user_pool_id: {pool}\n");
    let config = consumer_config(s, "30s", "", &entries);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("retire:\n{retire}{text}")).unwrap();
    config
}

#[tokio::test]
async fn a_certificate_moved_off_and_unused_is_retired_after_its_time() {
    let s = stage(&[]);
    let (old, _new) = pair(&s, "auth.example.com", 0x1301).await;
    let pool = pool_with_domain(&s.emu, REGION, "auth.example.com", &old.arn, 2).await;
    let config = retire_config(&s, &pool, "  after: 2s\n  action: delete\n");

    // The swap, verified: from now on the old certificate is a candidate.
    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Unused now: marked, not retired yet.
    let run = s.emu.run(&["once", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let tags = acm_state(&s.emu, &old.arn).await.expect("not deleted yet");
    assert!(
        tags.iter()
            .any(|(k, _)| k == "cognito-cert-rotator:unused-since"),
        "{tags:?}"
    );
    let plan = s.emu.run(&["plan", "-c", &config]);
    assert!(
        plan.stdout.contains("retire: auth.example.com:"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("unused since"), "{}", plan.stdout);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let run = s.emu.run(&["once", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("retired the certificate the domain was moved off"),
        "{}",
        run.stderr
    );
    assert_eq!(acm_state(&s.emu, &old.arn).await, None, "deleted");
    assert_eq!(s.emu.count("DeleteCertificate"), 1);
}

#[tokio::test]
async fn a_certificate_anything_still_uses_is_not_retired() {
    let s = stage(&[]);
    // One certificate for both names: the user pool's domain moves off it, the distribution
    // keeps using it.
    let mut both = Leaf::new("auth.example.com", 20, 0x1401);
    both.names.push(WWW.to_string());
    let old = import(&s.emu, &s.ca, both).await;
    import(&s.emu, &s.ca, Leaf::new("auth.example.com", 90, 0x1402)).await;
    let pool = pool_with_domain(&s.emu, REGION, "auth.example.com", &old.arn, 2).await;
    let id = distribution(&s.emu, &old.arn).await;
    let config = retire_config(&s, &pool, "  after: 1s\n  action: delete\n");

    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for _ in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let run = s.emu.run(&["once", "-c", &config]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let plan = s.emu.run(&["plan", "-c", &config]);
    assert!(
        plan.stdout.contains(&format!(
            "kept: in use by arn:aws:cloudfront::123456789012:distribution/{id}"
        )),
        "{}",
        plan.stdout
    );
    assert!(acm_state(&s.emu, &old.arn).await.is_some(), "not deleted");
    assert_eq!(s.emu.count("DeleteCertificate"), 0);
}

#[tokio::test]
async fn every_certificate_a_domain_was_moved_off_is_retired_not_only_the_last_swaps() {
    let s = stage(&[]);
    let (old, mid) = pair(&s, "auth.example.com", 0x1341).await;
    let pool = pool_with_domain(&s.emu, REGION, "auth.example.com", &old.arn, 2).await;
    let config = retire_config(&s, &pool, "  after: 2s\n  action: tag\n");

    // Two verified swaps before either old certificate has been unused for `after`.
    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let newest = import(&s.emu, &s.ca, Leaf::new("auth.example.com", 120, 0x1343)).await;
    let run = s.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Both are candidates: marked unused, then retired once `after` has passed.
    let plan = s.emu.run(&["plan", "-c", &config]);
    for arn in [&old.arn, &mid.arn] {
        let id = arn.rsplit('/').next().unwrap();
        assert!(plan.stdout.contains(id), "{id}: {}", plan.stdout);
    }
    let run = s.emu.run(&["once", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let run = s.emu.run(&["once", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for arn in [&old.arn, &mid.arn] {
        let tags = acm_state(&s.emu, arn).await.expect("tagged, not deleted");
        assert!(
            tags.iter()
                .any(|(k, _)| k == "cognito-cert-rotator:retired"),
            "{arn}: {tags:?}\n{}",
            run.stderr
        );
    }
    // Retired, they leave the candidates: the next plan reviews nothing.
    let plan = s.emu.run(&["plan", "-c", &config]);
    assert!(!plan.stdout.contains("retire:"), "{}", plan.stdout);
    assert!(acm_state(&s.emu, &newest.arn).await.is_some());
}

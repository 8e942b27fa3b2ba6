//! Living beside Terraform or CloudFormation: a domain the rotator moved (and verified) that
//! someone else puts back on another certificate is held, not swapped back, until `forget`;
//! a hand move onto a better certificate is simply kept; one onto an unusable certificate is
//! swapped anyway.

use crate::support::{domain_state, import, world, write_config, Leaf, World, DOMAIN, REGION};

fn config_file(w: &World, min_validity: &str, hook: &std::path::Path) -> String {
    write_config(
        w.dir.path(),
        &format!(
            "verify:\n  window: 10s\n  interval: 300ms\n  connect_to: {}\n  ca_file: {}\ndefaults:\n  min_validity: {min_validity}\nhooks:\n  on_failure: [/bin/sh, -c, 'echo \"$CCR_EVENT $CCR_REASON\" >> {}']\ndomains:\n  - domain: {DOMAIN}\n    user_pool_id: {}\n",
            w.emu.edge,
            w.ca_file.display(),
            hook.display(),
            w.pool
        ),
    )
    .to_string_lossy()
    .into_owned()
}

#[tokio::test]
async fn terraform_putting_the_old_certificate_back_is_held_until_forget() {
    let w = world(&[]).await;
    let hook = w.dir.path().join("failures.log");
    let config = config_file(&w, "30d", &hook);
    let first = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), 1);

    // Terraform's next apply puts its (older, still usable) certificate back.
    let old = w.old.arn.clone();
    // The old one has 20 days: usable with min_validity 10d, so this run uses that.
    let config = config_file(&w, "10d", &hook);
    w.move_domain(&old).await;
    let writes = w.emu.count("UpdateUserPoolDomain");
    let held = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(held.code, 1, "held: an operator is needed\n{}", held.stderr);
    assert!(held.stderr.contains("external-change"), "{}", held.stderr);
    assert!(
        held.stderr.contains(&w.new.arn) && held.stderr.contains(&old),
        "{}",
        held.stderr
    );
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), writes, "no swap back");
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(old.as_str())
    );
    // Reported once: a second run holds quietly.
    let again = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(again.code, 1);
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), writes);
    let hooks = std::fs::read_to_string(&hook).unwrap_or_default();
    assert_eq!(hooks.matches("external change").count(), 1, "{hooks}");

    let plan = w.emu.run(&["plan", "-c", &config]);
    assert!(
        plan.stdout.contains("external:  external change"),
        "{}",
        plan.stdout
    );
    let status = w.emu.run(&["status", "-c", &config]);
    assert_eq!(status.code, 1);
    assert!(
        status.stdout.contains("external change"),
        "{}",
        status.stdout
    );

    // Handed over: forget, and the rotator swaps again.
    let forget = w.emu.run(&["forget", "-c", &config, DOMAIN]);
    assert!(
        forget.stdout.contains("external change"),
        "{}",
        forget.stdout
    );
    let after = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
}

#[tokio::test]
async fn moved_onto_an_unusable_certificate_is_swapped_anyway_and_a_better_one_is_kept() {
    let w = world(&[]).await;
    let hook = w.dir.path().join("failures.log");
    let config = config_file(&w, "30d", &hook);
    assert_eq!(w.emu.run(&["once", "--wait", "-c", &config]).code, 0);
    // Put back on the old one (20 days), inside min_validity (30d): unusable, swapped anyway.
    w.move_domain(&w.old.arn).await;
    let run = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no longer usable"), "{}", run.stderr);
    assert_eq!(
        domain_state(&w.emu, REGION, DOMAIN).await.0.as_deref(),
        Some(w.new.arn.as_str())
    );
    // A person moves it onto a better certificate: kept, no hold.
    let better = import(&w.emu, &w.ca, Leaf::new(DOMAIN, 150, 0x0c0d_0e01)).await;
    w.move_domain(&better.arn).await;
    let writes = w.emu.count("UpdateUserPoolDomain");
    let kept = w.emu.run(&["once", "--wait", "-c", &config]);
    assert_eq!(kept.code, 0, "{}", kept.stderr);
    assert!(!kept.stderr.contains("external change"), "{}", kept.stderr);
    assert_eq!(w.emu.count("UpdateUserPoolDomain"), writes);
}

//! Test harness, one file per job: the emulator and TLS edge ([`emulator`]), the real binary
//! ([`binary`]), certificates ([`certificates`]), SDK seeding ([`seeding`]; the consumers
//! beyond Cognito in [`consumers`]), config files ([`config`]), the seeded world ([`world`]);
//! processes and waiting ([`process`]: `wait_for`, and `wait_until` for an async condition)
//! and the systemd container ([`container`]).

// Shared by the files below (each `use super::*`).
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use aws_sdk_acm::primitives::Blob;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SerialNumber};

mod binary;
mod certificates;
mod config;
mod consumers;
pub mod container;
mod emulator;
mod process;
mod seeding;
mod world;

// Not every test file uses every helper.
#[allow(unused_imports)]
pub use {
    binary::*, certificates::*, config::*, consumers::*, emulator::*, process::*, seeding::*,
    world::*,
};

//! How an AWS call failed, as plain data: the adapters make these from SDK errors
//! (`AwsError::from_sdk`), and the rest of the crate reads them without reaching the SDK.

/// A failed AWS call, with the AWS error code kept for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The service answered with an error.
    #[error("{operation}: {code}: {message}")]
    Service {
        /// The API operation (`DescribeUserPoolDomain`), named first in the message.
        operation: &'static str,
        /// The AWS error code (`ThrottlingException`, `NotAuthorizedException`, ...).
        code: String,
        /// The service's message.
        message: String,
    },
    /// No usable answer: connection, timeout, credentials, or an unreadable response.
    #[error("{operation}: {detail}")]
    Transport {
        /// The API operation (`DescribeUserPoolDomain`), named first in the message.
        operation: &'static str,
        /// The whole error chain.
        detail: String,
    },
    /// Not sent: this process no longer leads at the epoch the work began under (the lease
    /// guard stopped it before it left).
    #[error("{operation}: {reason}")]
    NotLeading {
        /// The API operation that was not sent.
        operation: &'static str,
        /// Why.
        reason: NotLeading,
    },
    /// The answer lacked something the API promises.
    #[error("{operation}: unexpected response: {detail}")]
    Malformed {
        /// The API operation (`DescribeUserPoolDomain`), named first in the message.
        operation: &'static str,
        /// What was missing.
        detail: String,
    },
}

impl AwsError {
    /// A short label for metrics and summaries: the AWS error code, or the failure class.
    pub fn metric_label(&self) -> &str {
        match self {
            AwsError::Service { code, .. } => code,
            AwsError::Transport { .. } => "transport",
            AwsError::Malformed { .. } => "malformed",
            AwsError::NotLeading { .. } => "not_leading",
        }
    }

    /// Whether another writer changed the resource at the same moment.
    pub fn is_concurrent_modification(&self) -> bool {
        matches!(self, AwsError::Service { code, .. } if code == "ConcurrentModificationException")
    }

    /// Whether the lease guard kept the request from being sent.
    pub fn is_not_leading(&self) -> bool {
        matches!(self, AwsError::NotLeading { .. })
    }

    /// Whether the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, AwsError::Service { code, .. } if code == "ResourceNotFoundException")
    }

    /// Whether trying again a little later may well succeed: no usable answer (a reset, a
    /// timeout), throttling, or the service's own failure.
    pub fn is_transient(&self) -> bool {
        match self {
            AwsError::Transport { .. } => true,
            AwsError::Service { code, .. } => {
                self.is_throttling()
                    || matches!(
                        code.as_str(),
                        "InternalServerError"
                            | "InternalFailure"
                            | "ServiceUnavailable"
                            | "ServiceUnavailableException"
                            | "RequestTimeout"
                            | "RequestTimeoutException"
                            | "ProvisionedThroughputExceededException"
                    )
            }
            AwsError::NotLeading { .. } | AwsError::Malformed { .. } => false,
        }
    }

    /// Whether AWS refused the call for going too fast (after the SDK's own retries).
    pub fn is_throttling(&self) -> bool {
        matches!(self, AwsError::Service { code, .. } if matches!(code.as_str(),
            "ThrottlingException" | "TooManyRequestsException" | "Throttling" | "RequestLimitExceeded"))
    }
}

/// Why the lease guard ([`crate::lease::guard`]) did not send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotLeading {
    /// The lease is not trusted now (lost, expired by the monotonic clock, never taken).
    #[error("not sent: this process does not hold the lease")]
    NoLease,
    /// The process leads again, but at a later epoch than the work began under.
    #[error("not sent: this work began under lease epoch {started}, and the lease is now at epoch {now}")]
    EpochMoved {
        /// The epoch the work started under.
        started: u64,
        /// The epoch the process leads at now.
        now: u64,
    },
    /// Acting work that was not started under any epoch (a bug: refused rather than risked).
    #[error("not sent: acting work outside any lease epoch")]
    NoEpoch,
}

/// What `DescribeTable` says is wrong with the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// No such table.
    #[error("DynamoDB table {table} does not exist (region {region}): create it with `cognito-cert-rotator state init -c FILE` (or deploy/dynamodb/table.yaml)")]
    Missing {
        /// The table name, as configured.
        table: String,
        /// Where it was looked for.
        region: String,
    },
    /// The key schema is not `pk` (S, HASH) + `sk` (S, RANGE).
    #[error("DynamoDB table {table} has the key schema {found}; cognito-cert-rotator needs pk (string, partition key) and sk (string, sort key): use another table or create one with `state init`")]
    WrongSchema {
        /// The table name, as configured.
        table: String,
        /// The key schema it has, as DescribeTable gives it.
        found: String,
    },
    /// The DynamoDB call failed (after the SDK's retries).
    #[error(transparent)]
    Aws(#[from] AwsError),
}

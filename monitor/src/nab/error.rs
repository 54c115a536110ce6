//! The one error type of the NAB loader, scorer and runner. Every variant names the file it
//! concerns and, where there is one, the line (1-based, the header is line 1) and the field.

use std::path::PathBuf;

use crate::detectors::DetectorError;

/// Everything that can go wrong while loading, scoring or writing NAB data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NabError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A result file could not be written (or renamed into place).
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The CSV reader rejected a record (unequal field counts, bad UTF-8, ...).
    #[error("{path}: line {line}: malformed CSV record: {message}")]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line of the offending record (0 when unknown).
        line: u64,
        /// The reader's explanation.
        message: String,
    },
    /// A required column is absent from the header.
    #[error("{path}: missing column `{column}` in the header (expected columns: {expected})")]
    MissingColumn {
        /// The CSV file.
        path: PathBuf,
        /// The column that was looked for.
        column: String,
        /// The columns the file must have, comma-separated.
        expected: String,
    },
    /// A timestamp field is not `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    #[error(
        "{path}: line {line}: field `{field}`: bad timestamp {value:?}: {reason} (expected `YYYY-MM-DD HH:MM:SS[.ffffff]`)"
    )]
    BadTimestamp {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record (0 for JSON files).
        line: u64,
        /// The field (column name, or the JSON key for window files).
        field: String,
        /// The text that was read.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A numeric field is not a finite number (or, for anomaly scores, not in [0, 1]).
    #[error("{path}: line {line}: field `{field}`: bad value {value:?} (expected {expected})")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// The column name.
        field: String,
        /// The text that was read.
        value: String,
        /// What a valid value looks like.
        expected: String,
    },
    /// A JSON file (windows, profiles) does not parse or has the wrong shape.
    #[error("{path}: {message}")]
    Json {
        /// The JSON file.
        path: PathBuf,
        /// The parser's message, which carries line and column.
        message: String,
    },
    /// A label window is malformed (end before start, unordered or overlapping windows).
    #[error("{path}: windows of `{file}`: window {index}: {reason}")]
    BadWindow {
        /// The windows JSON file.
        path: PathBuf,
        /// The data file the window belongs to (relative name).
        file: String,
        /// 0-based index of the window in that file's list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A window limit is not one of the data file's timestamps.
    #[error(
        "{path}: windows of `{file}`: window {index}: {edge} timestamp {timestamp} is not a row of the data file (its rows span {rows})"
    )]
    WindowOutsideFile {
        /// The windows JSON file.
        path: PathBuf,
        /// The data file the window belongs to (relative name).
        file: String,
        /// 0-based index of the window in that file's list.
        index: usize,
        /// `start` or `end`.
        edge: &'static str,
        /// The window limit as written in the windows file.
        timestamp: String,
        /// The data file's first and last timestamps (`none` for an empty file).
        rows: String,
    },
    /// A detector-results file has a different number of rows than its data file.
    #[error("{path}: {found} rows, expected {expected} (the rows of data file `{file}`)")]
    LengthMismatch {
        /// The results file.
        path: PathBuf,
        /// The data file it should match.
        file: String,
        /// Rows in the data file.
        expected: usize,
        /// Rows in the results file.
        found: usize,
    },
    /// A results file's timestamps differ from its data file's.
    #[error("{path}: line {line}: timestamp {found} differs from the data file's {expected}")]
    TimestampMismatch {
        /// The results file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// The data file's timestamp.
        expected: String,
        /// The results file's timestamp.
        found: String,
    },
    /// No `*.csv` below the data directory has an entry in the windows file.
    #[error(
        "{path}: no NAB data file found that {windows} labels (expected <category>/<name>.csv files named as the windows file's keys)"
    )]
    EmptyCorpus {
        /// The data directory.
        path: PathBuf,
        /// The windows file.
        windows: PathBuf,
    },
    /// A detector could not be built or fed.
    #[error("detector: {0}")]
    Detector(#[from] DetectorError),
}

impl NabError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NabError::Io {
            path: path.into(),
            source,
        }
    }
}

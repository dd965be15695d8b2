//! What Harmony's servers log, and at which level.
//!
//! dropshot logs every request it refuses for its version (no `api-version`
//! header, one this process does not serve, or the gate's missing service
//! credential) twice: at INFO as `request completed` with the status and
//! the reason (`error_message_external`), and at ERROR as `failed to
//! determine request API version`. The second is the caller's mistake, not
//! the server's: a client negotiating against an older Harmony produces
//! these refusals by design, and an operator paged for them would learn to
//! ignore ERROR. [`refusals_are_not_errors`] moves that one line to DEBUG;
//! the INFO line keeps the status and the reason.

use slog::{Drain, Level, OwnedKVList, Record, RecordStatic};

/// The message dropshot logs at ERROR when a version policy refuses a
/// request (dropshot `versioning.rs`).
const VERSION_REFUSED: &str = "failed to determine request API version";

/// A logger for a dropshot server that logs through `log`, with dropshot's
/// ERROR line for a refused request version moved to DEBUG.
pub fn refusals_are_not_errors(log: &slog::Logger) -> slog::Logger {
    slog::Logger::root(VersionRefusalsAtDebug(log.clone()), slog::o!())
}

struct VersionRefusalsAtDebug(slog::Logger);

impl Drain for VersionRefusalsAtDebug {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        if is_version_refusal(record) {
            let demoted = RecordStatic {
                location: record.location(),
                tag: record.tag(),
                level: Level::Debug,
            };
            let message = *record.msg();
            return Drain::log(&self.0, &Record::new(&demoted, &message, record.kv()), values);
        }
        Drain::log(&self.0, record, values)
    }
}

fn is_version_refusal(record: &Record<'_>) -> bool {
    record.level() == Level::Error
        && record.module().starts_with("dropshot")
        && record.msg().as_str().map_or_else(
            || record.msg().to_string() == VERSION_REFUSED,
            |text| text == VERSION_REFUSED,
        )
}

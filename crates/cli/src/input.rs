//! Reading an execution input file (`-` is standard input), the same way for every command.

use std::path::Path;

use crate::error::CliError;

/// The bytes of `path`, or of standard input for `-`; an unreadable file is a usage error.
pub fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    let read = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    read.map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))
}

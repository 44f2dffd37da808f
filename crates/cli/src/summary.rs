//! The run summary as a person reads it. Scripts use `--json`, which prints the
//! [`RunSummary`] exactly as the state machine outputs it.

use ordersync_core::events::RunSummary;

pub fn render(summary: &RunSummary) -> String {
    format!(
        "windows          {}\n\
         orders fetched   {} (changed {}, missing {})\n\
         rows             {}\n\
         sheet            {} appended, {} updated, {} unchanged{}\n\
         API calls        NAVER {}, Google Sheets {}\n",
        summary.windows,
        summary.orders_fetched,
        summary.orders_changed,
        summary.orders_missing,
        summary.rows,
        summary.appended,
        summary.updated,
        summary.unchanged,
        if summary.duplicate_keys_in_sheet > 0 {
            format!(
                " ({} keys found twice in the sheet; the first row was used)",
                summary.duplicate_keys_in_sheet
            )
        } else {
            String::new()
        },
        summary.naver_api_calls,
        summary.sheets_api_calls,
    )
}

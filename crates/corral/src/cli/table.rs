//! Plain-text tables with aligned columns, as the listing commands and summaries print them.

/// Rows of cells under an optional header. Columns are padded to their widest cell and
/// separated by two spaces; the last column is not padded, so lines have no trailing blanks.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// A table without a header line.
    pub fn headless() -> Self {
        Self::default()
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every line ends with '\n'; `indent` is put before each.
    pub fn render(&self, indent: &str) -> String {
        let lines: Vec<&Vec<String>> = std::iter::once(&self.header)
            .filter(|h| !h.is_empty())
            .chain(self.rows.iter())
            .collect();
        let columns = lines.iter().map(|l| l.len()).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for line in &lines {
            for (i, cell) in line.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for line in lines {
            let mut text = String::from(indent);
            for (i, cell) in line.iter().enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                if i + 1 < line.len() {
                    let pad = widths[i] - cell.chars().count();
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_under_the_header() {
        let mut table = Table::new(["ID", "STATE", "NAME"]);
        table.row(["a", "TASK_RUNNING", "web"]);
        table.row(["long-id-1", "TASK_FINISHED", "batch job"]);
        assert_eq!(
            table.to_string(),
            "ID         STATE          NAME\n\
             a          TASK_RUNNING   web\n\
             long-id-1  TASK_FINISHED  batch job\n"
        );
    }

    #[test]
    fn no_trailing_blanks_and_empty_cells_keep_alignment() {
        let mut table = Table::new(["A", "B", "C"]);
        table.row(["x", "", ""]);
        table.row(["", "y", "z"]);
        let text = table.to_string();
        for line in text.lines() {
            assert_eq!(line, line.trim_end(), "trailing blanks in {line:?}");
        }
        assert_eq!(text, "A  B  C\nx\n   y  z\n");
    }

    #[test]
    fn headless_tables_indent_and_count_characters_not_bytes() {
        let mut table = Table::headless();
        table.row(["héllo", "1"]);
        table.row(["hi", "2"]);
        assert_eq!(table.render("  "), "  héllo  1\n  hi     2\n");
        assert!(Table::new(["X"]).is_empty());
        assert_eq!(Table::new(["X"]).to_string(), "X\n");
    }
}

//! Column tables in parquet: [`FrameBuilder`] writes a table column by column, [`FrameReader`]
//! reads its columns back by name. Each log's row type (`EpochRow`, `StepRow`, `IndexRow`) names
//! its columns through the functions of [`crate::metrics`] and [`crate::task`] in both
//! directions, so a column cannot be written under one name and read under another.

use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::files::atomic_write;

/// A value type a log column can hold, with its parquet encoding.
pub trait Cell: Sized + Clone {
    /// A named column of `values`.
    fn column(name: &str, values: Vec<Self>) -> Column;
    /// The column `name` of `df` (read from `path`, for errors).
    fn read(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Self>>;
}

fn get<'a>(df: &'a DataFrame, path: &Path, name: &str) -> Result<&'a Column> {
    df.column(name)
        .map_err(|_| Error::log(path, format!("missing column {name}")))
}

fn bad(path: &Path, name: &str, e: impl std::fmt::Display) -> Error {
    Error::log(path, format!("column {name}: {e}"))
}

impl Cell for f64 {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    /// A null reads as NaN.
    fn read(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Self>> {
        let ca = get(df, path, name)?.f64().map_err(|e| bad(path, name, e))?;
        Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }
}

impl Cell for Option<f64> {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn read(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Self>> {
        let ca = get(df, path, name)?.f64().map_err(|e| bad(path, name, e))?;
        Ok(ca.iter().collect())
    }
}

impl Cell for i64 {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn read(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Self>> {
        let ca = get(df, path, name)?.i64().map_err(|e| bad(path, name, e))?;
        Ok(ca.iter().map(|v| v.unwrap_or_default()).collect())
    }
}

impl Cell for Option<i64> {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn read(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Self>> {
        let ca = get(df, path, name)?.i64().map_err(|e| bad(path, name, e))?;
        Ok(ca.iter().collect())
    }
}

impl Cell for String {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn read(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Self>> {
        let ca = get(df, path, name)?.str().map_err(|e| bad(path, name, e))?;
        Ok(ca
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    }
}

impl Cell for Option<String> {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn read(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<Self>> {
        let ca = get(df, path, name)?.str().map_err(|e| bad(path, name, e))?;
        Ok(ca.iter().map(|v| v.map(str::to_string)).collect())
    }
}

/// A table written column by column, in order.
#[derive(Debug, Default)]
pub struct FrameBuilder {
    height: usize,
    columns: Vec<Column>,
}

impl FrameBuilder {
    /// An empty table of `height` rows.
    pub fn new(height: usize) -> Self {
        Self {
            height,
            columns: Vec::new(),
        }
    }

    /// Add the column `name` holding `values` (one per row).
    pub fn push<T: Cell>(&mut self, name: &str, values: Vec<T>) {
        self.columns.push(T::column(name, values));
    }

    /// The table as a data frame.
    pub fn finish(self) -> PolarsResult<DataFrame> {
        DataFrame::new(self.height, self.columns)
    }

    /// Write the table to `path` as parquet, atomically.
    pub fn write(self, path: &Path) -> Result<()> {
        let df = self.finish().map_err(|e| Error::log(path, e))?;
        write_frame(path, df)
    }
}

/// A table read from a file, its columns taken by name.
#[derive(Debug)]
pub struct FrameReader<'a> {
    df: &'a DataFrame,
    path: &'a Path,
}

impl<'a> FrameReader<'a> {
    /// The columns of `df`, read from `path` (for errors).
    pub fn new(df: &'a DataFrame, path: &'a Path) -> Self {
        Self { df, path }
    }

    /// Number of rows.
    pub fn height(&self) -> usize {
        self.df.height()
    }

    /// Whether the table has the column `name`.
    pub fn has(&self, name: &str) -> bool {
        self.df.column(name).is_ok()
    }

    /// The column `name`; an error names the file and the column when it is missing, of
    /// another type, or not as long as the table (a corrupt file can decode so).
    pub fn get<T: Cell>(&self, name: &str) -> Result<Vec<T>> {
        let values = T::read(self.df, self.path, name)?;
        if values.len() != self.height() {
            return Err(Error::log(
                self.path,
                format!(
                    "column {name} has {} rows in a table of {}",
                    values.len(),
                    self.height()
                ),
            ));
        }
        Ok(values)
    }

    /// The column `name`, or `fallback` in files written before it existed.
    pub fn get_or<T: Cell>(
        &self,
        name: &str,
        fallback: impl FnOnce() -> Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        if self.has(name) {
            self.get(name)
        } else {
            fallback()
        }
    }

    /// One column per name, transposed into one vector per row.
    pub fn rows_of<T: Cell>(&self, names: &[String]) -> Result<Vec<Vec<T>>> {
        let columns = names
            .iter()
            .map(|n| self.get::<T>(n))
            .collect::<Result<Vec<_>>>()?;
        Ok(transpose(columns, self.height()))
    }
}

/// `columns[c][r]` as `rows[r][c]`.
pub fn transpose<T: Clone>(columns: Vec<Vec<T>>, height: usize) -> Vec<Vec<T>> {
    (0..height)
        .map(|r| columns.iter().map(|c| c[r].clone()).collect())
        .collect()
}

/// Encode `df` as parquet and write it to `path` atomically.
pub fn write_frame(path: &Path, mut df: DataFrame) -> Result<()> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(&mut df)
        .map_err(|e| Error::log(path, format!("cannot encode parquet: {e}")))?;
    atomic_write(path, &bytes)
}

/// Read a parquet file written by weightlab. A corrupt file is an error, also where the
/// parquet decoder panics on it (some corrupt metadata makes it do so).
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    match quietly(|| ParquetReader::new(file).finish()) {
        Ok(read) => read.map_err(|e| Error::log(path, format!("unreadable parquet: {e}"))),
        Err(why) => Err(Error::log(
            path,
            format!("unreadable parquet (corrupt: {why})"),
        )),
    }
}

thread_local! {
    /// Whether a panic on this thread is caught by [`quietly`], which reports it.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `f`'s result, or the message of its panic, which is caught and not printed.
fn quietly<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    outcome.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the decoder panicked".into())
    })
}

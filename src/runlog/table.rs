//! One column table per parquet file: [`log_table!`] declares a row struct once, and both the
//! writer ([`Table::to_parquet`]) and the reader ([`Table::read`]) derive from that declaration,
//! so a column cannot be written under one name and read under another.

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

/// A parquet file of rows of `Self`, its columns declared with [`log_table!`].
pub trait Table: Sized {
    /// Column names, in file order.
    const COLUMNS: &'static [&'static str];

    /// The rows as a data frame.
    fn frame(rows: &[Self]) -> PolarsResult<DataFrame>;

    /// The rows of a frame read from `path`.
    fn from_frame(df: &DataFrame, path: &Path) -> Result<Vec<Self>>;

    /// Write `rows` to `path` as parquet, atomically.
    fn to_parquet(path: &Path, rows: &[Self]) -> Result<()> {
        let df = Self::frame(rows).map_err(|e| Error::log(path, e))?;
        write_frame(path, df)
    }

    /// Read the rows of the parquet file at `path`.
    fn read(path: &Path) -> Result<Vec<Self>> {
        Self::from_frame(&read_frame(path)?, path)
    }
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

/// Declare a log row struct and derive its [`Table`] impl from the one field list. A field
/// written `name: f64 = or other` reads as column `other` in files written before `name`
/// existed (`other` must come earlier in the list); `name: T = or absent` reads as
/// `T::default()` (a null) there.
macro_rules! log_table {
    (
        $(#[$meta:meta])*
        pub struct $row:ident {
            $(
                $(#[doc = $doc:expr])*
                $field:ident : $ty:ty $(= or $fallback:ident)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $row {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $crate::runlog::table::Table for $row {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn frame(rows: &[Self]) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
                use $crate::runlog::table::Cell;
                polars::prelude::DataFrame::new(
                    rows.len(),
                    vec![$(
                        <$ty as Cell>::column(
                            stringify!($field),
                            rows.iter().map(|r| r.$field.clone()).collect(),
                        )
                    ),*],
                )
            }

            fn from_frame(
                df: &polars::prelude::DataFrame,
                path: &std::path::Path,
            ) -> $crate::error::Result<Vec<Self>> {
                use $crate::runlog::table::Cell;
                $(
                    let $field: Vec<$ty> = log_table!(@read df, path, $field, $ty $(, $fallback)?);
                )*
                $( let mut $field = $field.into_iter(); )*
                Ok((0..df.height())
                    .map(|_| Self { $( $field: $field.next().unwrap_or_default(), )* })
                    .collect())
            }
        }
    };
    (@read $df:ident, $path:ident, $field:ident, $ty:ty) => {
        <$ty as Cell>::read($df, $path, stringify!($field))?
    };
    (@read $df:ident, $path:ident, $field:ident, $ty:ty, absent) => {
        if $df.column(stringify!($field)).is_ok() {
            <$ty as Cell>::read($df, $path, stringify!($field))?
        } else {
            vec![<$ty>::default(); $df.height()]
        }
    };
    (@read $df:ident, $path:ident, $field:ident, $ty:ty, $fallback:ident) => {
        if $df.column(stringify!($field)).is_ok() {
            <$ty as Cell>::read($df, $path, stringify!($field))?
        } else {
            $fallback.clone()
        }
    };
}
pub(crate) use log_table;

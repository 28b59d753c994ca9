//! Data: the [`Dataset`] type, CSV reading ([`csv`]), scaling, splits, mini-batches, and
//! data sets that ship with the crate.
//!
//! A [`Dataset`] is a dense feature matrix (`n × d`, row-major) and its [`Targets`]:
//! real values for regression, class ids for classification. Construction validates
//! everything a model later relies on (shapes, finiteness, label range), so the hot
//! paths never check again.
//!
//! ```
//! use feasible::data::{embedded, Standardizer};
//! let data = embedded::breast_cancer::<f64>();
//! let (train, test) = data.train_test_split(0.2, 7).unwrap();
//! let scaler = Standardizer::fit(&train).unwrap();
//! let (train, test) = (scaler.transform(&train).unwrap(), scaler.transform(&test).unwrap());
//! assert_eq!(train.n_samples() + test.n_samples(), 569);
//! assert_eq!(train.n_features(), 30);
//! ```

mod batches;
pub mod csv;
mod dataset;
pub mod embedded;
mod standardize;
pub mod synthetic;
mod view;

pub use batches::{MiniBatches, Shuffle};
pub use csv::{
    CsvData, CsvFeatures, CsvOptions, CsvTask, FeatureSchema, Header, TargetColumn, read_csv,
    read_csv_file, read_features, read_features_file,
};
pub(crate) use dataset::check_finite as check_finite_pub;
pub(crate) use dataset::prefetch_row;
pub use dataset::{Dataset, Targets, TargetsRef, Task};
pub use standardize::{Standardizer, TargetScaler};
pub use view::BatchView;

//! Saving and loading trained models.
//!
//! A [`SavedModel`] is everything needed to predict on raw data: the network's shape and
//! parameters, the feature [`Standardizer`](crate::data::Standardizer), the regression
//! [`TargetScaler`](crate::data::TargetScaler), the class-label names, the feature names
//! and the training settings. It is stored as JSON (format: `docs/model_format.md`),
//! written atomically, and validated in full when read back.
//!
//! A [`LoadedModel`] is what services hold: precision-independent, `Send + Sync`, and
//! predicting on raw (unscaled) feature rows exactly as the saved model did.
//!
//! ```
//! use feasible::io::{LoadedModel, Prediction, SavedModel};
//! use feasible::model::Network;
//! use ndarray::array;
//!
//! let net = Network::<f32>::logistic_regression(2);
//! let saved = SavedModel::from_network(&net)
//!     .unwrap()
//!     .with_labels(vec!["no".into(), "yes".into()]);
//! let json = saved.to_json_string().unwrap();
//! let model = LoadedModel::from_json_str(&json).unwrap();
//! let p = model.predict(array![[1.0, 2.0]].view()).unwrap();
//! assert_eq!(p, Prediction::Classes { ids: vec![0], labels: vec!["no".into()] });
//! ```

mod saved_model;

pub use saved_model::{
    FORMAT_VERSION, LoadedModel, ModelKind, ModelSpec, Precision, Prediction, SavedModel,
};

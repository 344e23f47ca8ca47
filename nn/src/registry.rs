//! Layers defined outside this crate, made buildable from their description. A layer's crate
//! implements [`CustomLayer`] for it and calls [`register_layer`] once per backend a program uses;
//! from then on [`crate::build_sequential`], [`crate::Checkpoint::build`] and
//! [`crate::Footprint::of`] handle its [`LayerSpec::Custom`] entry like a built-in layer's, so a
//! checkpoint holding it loads, evaluates and exports everywhere in that program.
//!
//! The registry is per process: builders are kept by layer name and backend type (a builder is
//! code for one backend), shape rules by layer name alone.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use neurite_core::Backend;

use crate::module::Module;
#[cfg(doc)]
use crate::spec::LayerSpec;

/// A layer from another crate that can be rebuilt from its [`LayerSpec::Custom`] description.
///
/// Its [`Module::spec`] must return `LayerSpec::Custom { name: NAME, settings }`, with the
/// settings [`CustomLayer::from_settings`] reads back. Parameters and buffers need no settings:
/// a checkpoint restores them after the layer is built.
pub trait CustomLayer<B: Backend>: Module<B> + Sized + 'static {
    /// The name in its description (`"Swish"`).
    const NAME: &'static str;

    /// The layer from the settings of its description, with parameters of the right shapes
    /// (their values are overwritten when a checkpoint is restored).
    ///
    /// # Errors
    /// A one-line message for settings it cannot use.
    fn from_settings(settings: &serde_json::Value) -> Result<Self, String>;

    /// The output shape for an input of shape `input` (batch dimension first), from the settings
    /// alone: what a file's network is checked with before anything is built. The default is
    /// the input's shape (an element-wise layer).
    ///
    /// # Errors
    /// A one-line message if the layer cannot take that input.
    fn output_shape_of(settings: &serde_json::Value, input: &[usize]) -> Result<Vec<usize>, String> {
        let _ = settings;
        Ok(input.to_vec())
    }
}

/// Builds a registered layer for one backend.
type Builder<B> = fn(&serde_json::Value) -> Result<Box<dyn Module<B>>, String>;
/// A registered layer's shape rule.
type ShapeRule = fn(&serde_json::Value, &[usize]) -> Result<Vec<usize>, String>;

#[derive(Default)]
struct Registry {
    builders: HashMap<(String, TypeId), Box<dyn Any + Send + Sync>>,
    shapes: HashMap<String, ShapeRule>,
}

fn registry() -> &'static RwLock<Registry> {
    static REGISTRY: OnceLock<RwLock<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn build<B: Backend, L: CustomLayer<B>>(settings: &serde_json::Value) -> Result<Box<dyn Module<B>>, String> {
    Ok(Box::new(L::from_settings(settings)?))
}

/// Makes layer `L` buildable from its description on backend `B` (call it once for each backend
/// the program runs; registering again replaces the earlier entry).
///
/// ```
/// use neurite_core::{Backend, Tensor};
/// use neurite_nn::registry::{CustomLayer, register_layer};
/// use neurite_nn::{LayerSpec, Module, build_sequential};
///
/// /// y = 2x.
/// struct Double;
/// impl<B: Backend> Module<B> for Double {
///     fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
///         x.mul_scalar(2.0)
///     }
/// }
/// impl<B: Backend> CustomLayer<B> for Double {
///     const NAME: &'static str = "Double";
///     fn from_settings(_: &serde_json::Value) -> Result<Self, String> {
///         Ok(Double)
///     }
/// }
///
/// type R = neurite_core::reference::ReferenceBackend;
/// register_layer::<R, Double>();
/// let spec = LayerSpec::Custom { name: "Double".into(), settings: serde_json::Value::Null };
/// let model = build_sequential::<R>(&[spec], 0).expect("registered");
/// assert_eq!(model.forward(&Tensor::<R>::ones([2])).to_vec(), [2.0, 2.0]);
/// ```
pub fn register_layer<B: Backend, L: CustomLayer<B>>() {
    let mut registry = registry().write().unwrap_or_else(PoisonError::into_inner);
    let builder: Builder<B> = build::<B, L>;
    registry.builders.insert((L::NAME.to_string(), TypeId::of::<B>()), Box::new(builder));
    registry.shapes.insert(L::NAME.to_string(), L::output_shape_of);
}

/// Whether a layer called `name` is registered (for any backend).
pub fn is_registered(name: &str) -> bool {
    registry().read().unwrap_or_else(PoisonError::into_inner).shapes.contains_key(name)
}

/// Builds the registered layer `name` on backend `B`; `None` if it is not registered for `B`.
pub(crate) fn build_custom<B: Backend>(
    name: &str,
    settings: &serde_json::Value,
) -> Option<Result<Box<dyn Module<B>>, String>> {
    let registry = registry().read().unwrap_or_else(PoisonError::into_inner);
    let builder = registry.builders.get(&(name.to_string(), TypeId::of::<B>()))?;
    let builder = builder.downcast_ref::<Builder<B>>().expect("builders are stored under their backend's type");
    Some(builder(settings))
}

/// The output shape of the registered layer `name` for `input`; `None` if it is not registered.
pub(crate) fn custom_output_shape(
    name: &str,
    settings: &serde_json::Value,
    input: &[usize],
) -> Option<Result<Vec<usize>, String>> {
    let rule = *registry().read().unwrap_or_else(PoisonError::into_inner).shapes.get(name)?;
    Some(rule(settings, input))
}

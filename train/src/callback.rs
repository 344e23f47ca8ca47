//! Events of a training run, and the way back in: [`Callback`] has one method per event, each a
//! no-op by default, and the two that come between epochs get a [`Control`] through which a
//! callback stops training or changes the learning rate (Keras' `stop_training` and its
//! learning-rate callbacks). Callbacks compose: a tuple, a `Vec<Box<dyn Callback>>` or a
//! `&mut` of any callback is one. The built-in ones (progress, CSV log, early stopping, keep-best,
//! learning rate on plateau) live in `callbacks.rs`.

use std::path::Path;

use crate::error::TrainError;
use crate::learner::FitReport;
use crate::metrics::EpochMetrics;

/// Where an epoch's batches have got to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchProgress {
    /// The epoch (1-based).
    pub epoch: usize,
    /// The last epoch of the run.
    pub epochs: usize,
    /// Samples trained on so far in this epoch.
    pub seen: usize,
    /// Samples in the epoch.
    pub samples: usize,
    /// Mean data loss over the epoch's samples so far.
    pub loss: f64,
    /// Fraction of the epoch's samples so far classified correctly as they were trained on (none
    /// for value targets).
    pub accuracy: Option<f64>,
    /// The learning rate of this epoch's steps.
    pub lr: f32,
}

/// What a run knows as it starts, before its first epoch (or the first of those still to do).
#[derive(Clone, Copy, Debug)]
pub struct FitStart<'a> {
    /// Epochs already done (those of a resumed checkpoint).
    pub epoch: usize,
    /// The epoch the run stops after.
    pub epochs: usize,
    /// Training samples per epoch.
    pub samples: usize,
    /// Whether a validation set is given.
    pub validation: bool,
    /// The output folder, on the process that writes it.
    pub dir: Option<&'a Path>,
    /// Whether this process reports and writes: every process but rank 0 of a data-parallel run
    /// only steers (a display or a log stays quiet there).
    pub writer: bool,
}

/// The files written after an epoch.
#[derive(Clone, Copy, Debug)]
pub struct Saved<'a> {
    /// The output folder.
    pub dir: &'a Path,
    /// The epoch they hold.
    pub epoch: usize,
    /// The bytes of the checkpoint just written (`model.ckpt`).
    pub checkpoint: &'a [u8],
    /// Every epoch so far, this one last.
    pub history: &'a [EpochMetrics],
}

/// What a callback may change between epochs: whether training goes on, and the learning rate.
#[derive(Debug)]
pub struct Control<'a> {
    history: &'a [EpochMetrics],
    lr: f32,
    scale: f32,
    stop: Option<String>,
}

impl<'a> Control<'a> {
    /// A control after the epochs of `history`, at rate `lr`, the schedule's rate times `scale`.
    pub(crate) fn new(history: &'a [EpochMetrics], lr: f32, scale: f32) -> Self {
        Control { history, lr, scale, stop: None }
    }

    /// Every epoch so far, the one just finished last.
    pub fn history(&self) -> &[EpochMetrics] {
        self.history
    }

    /// The learning rate the last epoch trained with (when a fresh run starts, the optimizer's
    /// initial rate).
    pub fn learning_rate(&self) -> f32 {
        self.lr
    }

    /// The factor the schedule's rate is multiplied by (1 until a callback changes it).
    pub fn lr_scale(&self) -> f32 {
        self.scale
    }

    /// Multiplies the learning rate of every later epoch by `factor` (on top of the schedule, and
    /// of earlier factors). The factor is saved in checkpoints, so a resumed run keeps it.
    ///
    /// # Panics
    /// If `factor` is not a positive number.
    pub fn scale_learning_rate(&mut self, factor: f32) {
        assert!(factor.is_finite() && factor > 0.0, "scale_learning_rate: the factor must be positive, got {factor}");
        self.scale *= factor;
    }

    /// Ends training after this epoch (before the first epoch, when called at the start), for
    /// `reason`, which [`FitReport::stopped`] keeps.
    pub fn stop(&mut self, reason: impl Into<String>) {
        self.stop.get_or_insert_with(|| reason.into());
    }

    /// Why training stops, if a callback said so.
    pub fn stopping(&self) -> Option<&str> {
        self.stop.as_deref()
    }

    /// The factor and the reason to stop, for the learner.
    pub(crate) fn into_parts(self) -> (f32, Option<String>) {
        (self.scale, self.stop)
    }
}

/// Receives the events of [`crate::Learner::fit`], in this order: `on_fit_start` once, then per
/// epoch `on_epoch_start`, `on_batch_end` after every step, `on_epoch_end` once the epoch is
/// validated and recorded, and `on_saved` once its files are written (if the learner writes an
/// output folder); `on_fit_end` last. In a data-parallel run every process gets `on_fit_start`
/// and `on_epoch_end` (the steering events, which must decide alike everywhere) and only the one
/// that writes gets the others.
pub trait Callback {
    /// Training is about to start; `control` may stop it before the first epoch (a resumed run
    /// whose patience ran out).
    ///
    /// # Errors
    /// A [`TrainError`] for a run this callback cannot serve (early stopping without a validation
    /// set); training does not start.
    fn on_fit_start(&mut self, start: &FitStart<'_>, control: &mut Control<'_>) -> Result<(), TrainError> {
        let _ = (start, control);
        Ok(())
    }

    /// Epoch `epoch` of `epochs` starts, over `samples` training samples.
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        let _ = (epoch, epochs, samples);
    }

    /// A step finished.
    fn on_batch_end(&mut self, progress: &BatchProgress) {
        let _ = progress;
    }

    /// An epoch finished, validation included; `metrics` is its row (as recorded), the last of
    /// `control.history()`.
    ///
    /// # Errors
    /// A [`TrainError`] that ends the run (a log that cannot be written).
    fn on_epoch_end(&mut self, metrics: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
        let _ = (metrics, control);
        Ok(())
    }

    /// The epoch's checkpoint and metrics files were written.
    ///
    /// # Errors
    /// A [`TrainError`] that ends the run.
    fn on_saved(&mut self, saved: &Saved<'_>) -> Result<(), TrainError> {
        let _ = saved;
        Ok(())
    }

    /// Training ended (not called when it failed).
    fn on_fit_end(&mut self, report: &FitReport) {
        let _ = report;
    }
}

impl Callback for () {}

/// A callback behind a reference or a box is the callback.
macro_rules! forward_callback {
    ($($pointer:ty),*) => {$(
        impl<C: Callback + ?Sized> Callback for $pointer {
            fn on_fit_start(&mut self, start: &FitStart<'_>, control: &mut Control<'_>) -> Result<(), TrainError> {
                (**self).on_fit_start(start, control)
            }
            fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
                (**self).on_epoch_start(epoch, epochs, samples)
            }
            fn on_batch_end(&mut self, progress: &BatchProgress) {
                (**self).on_batch_end(progress)
            }
            fn on_epoch_end(&mut self, metrics: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
                (**self).on_epoch_end(metrics, control)
            }
            fn on_saved(&mut self, saved: &Saved<'_>) -> Result<(), TrainError> {
                (**self).on_saved(saved)
            }
            fn on_fit_end(&mut self, report: &FitReport) {
                (**self).on_fit_end(report)
            }
        }
    )*};
}
forward_callback!(&mut C, Box<C>);

/// Several callbacks as one, called in order; the first error ends the event.
impl<C: Callback> Callback for Vec<C> {
    fn on_fit_start(&mut self, start: &FitStart<'_>, control: &mut Control<'_>) -> Result<(), TrainError> {
        self.iter_mut().try_for_each(|c| c.on_fit_start(start, control))
    }
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        self.iter_mut().for_each(|c| c.on_epoch_start(epoch, epochs, samples))
    }
    fn on_batch_end(&mut self, progress: &BatchProgress) {
        self.iter_mut().for_each(|c| c.on_batch_end(progress))
    }
    fn on_epoch_end(&mut self, metrics: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
        self.iter_mut().try_for_each(|c| c.on_epoch_end(metrics, control))
    }
    fn on_saved(&mut self, saved: &Saved<'_>) -> Result<(), TrainError> {
        self.iter_mut().try_for_each(|c| c.on_saved(saved))
    }
    fn on_fit_end(&mut self, report: &FitReport) {
        self.iter_mut().for_each(|c| c.on_fit_end(report))
    }
}

/// Tuples of callbacks are callbacks, called left to right: `&mut (progress, log)`.
macro_rules! tuple_callback {
    ($($name:ident),+) => {
        #[allow(non_snake_case)]
        impl<$($name: Callback),+> Callback for ($($name,)+) {
            fn on_fit_start(&mut self, start: &FitStart<'_>, control: &mut Control<'_>) -> Result<(), TrainError> {
                let ($($name,)+) = self;
                $($name.on_fit_start(start, control)?;)+
                Ok(())
            }
            fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
                let ($($name,)+) = self;
                $($name.on_epoch_start(epoch, epochs, samples);)+
            }
            fn on_batch_end(&mut self, progress: &BatchProgress) {
                let ($($name,)+) = self;
                $($name.on_batch_end(progress);)+
            }
            fn on_epoch_end(&mut self, metrics: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
                let ($($name,)+) = self;
                $($name.on_epoch_end(metrics, control)?;)+
                Ok(())
            }
            fn on_saved(&mut self, saved: &Saved<'_>) -> Result<(), TrainError> {
                let ($($name,)+) = self;
                $($name.on_saved(saved)?;)+
                Ok(())
            }
            fn on_fit_end(&mut self, report: &FitReport) {
                let ($($name,)+) = self;
                $($name.on_fit_end(report);)+
            }
        }
    };
}
tuple_callback!(A, B);
tuple_callback!(A, B, C);
tuple_callback!(A, B, C, D);
tuple_callback!(A, B, C, D, E);

/// A callback that calls `f` with each epoch's metrics (the simplest logger).
///
/// ```
/// let mut lines = Vec::new();
/// let mut log = neurite_train::on_epoch_end(|m| lines.push(format!("{} {:.3}", m.epoch, m.train_loss)));
/// # let _ = &mut log;
/// ```
pub fn on_epoch_end<F: FnMut(&EpochMetrics)>(f: F) -> OnEpochEnd<F> {
    OnEpochEnd(f)
}

/// See [`on_epoch_end`].
pub struct OnEpochEnd<F>(F);

impl<F: FnMut(&EpochMetrics)> Callback for OnEpochEnd<F> {
    fn on_epoch_end(&mut self, metrics: &EpochMetrics, _: &mut Control<'_>) -> Result<(), TrainError> {
        (self.0)(metrics);
        Ok(())
    }
}

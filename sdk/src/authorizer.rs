//! Authorizer plugins: decide who may do what, as Mesos' authorizer modules do, but sandboxed.
//! See `wit/authorizer.wit`. The master asks its active authorizer after its local ACLs
//! allowed a request; both must allow. Answers are cached by the host for a short time, so
//! answer the same request the same way until [`Authorizer::init`] is called again.
//!
//! Implement [`Authorizer`] on a `Default` type and export it with
//! [`export_authorizer!`](crate::export_authorizer).

pub use crate::bindings::authorizer::exports::corral::plugin::authorizer::{Decision, Request};

/// A policy deciding requests.
pub trait Authorizer {
    /// Called once with the operator's configuration (the policy document, may be empty).
    /// An error refuses the activation with its message.
    fn init(&mut self, config: String) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// Allow the request or deny it with a reason. An error is a denial too (the host names
    /// the plugin and the message), so return one when the request cannot be decided.
    fn authorize(&mut self, request: Request) -> Result<Decision, String>;
}

/// Exports a type implementing [`Authorizer`] and `Default` as the component's authorizer.
///
/// On `wasm32` the generated WIT exports forward to a single instance of the type. Natively it
/// only checks the bounds.
#[macro_export]
macro_rules! export_authorizer {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::authorizer::{Authorizer, Decision, Request};

            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<$plugin> =
                    ::std::cell::RefCell::new(<$plugin as ::std::default::Default>::default());
            }

            fn with<R>(call: impl FnOnce(&mut $plugin) -> R) -> R {
                INSTANCE.with_borrow_mut(call)
            }

            struct CorralAuthorizerExport;

            impl $crate::bindings::authorizer::exports::corral::plugin::authorizer::Guest
                for CorralAuthorizerExport
            {
                fn init(config: String) -> Result<(), String> {
                    with(|p| p.init(config))
                }
                fn authorize(request: Request) -> Result<Decision, String> {
                    with(|p| p.authorize(request))
                }
            }

            $crate::bindings::authorizer::export!(
                CorralAuthorizerExport with_types_in $crate::bindings::authorizer
            );
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn assert_exportable<T: $crate::authorizer::Authorizer + ::std::default::Default>() {}
            let _ = assert_exportable::<$plugin>;
        };
    };
}

//! `#[livetel::instrument]`: a span per call whose arguments are recorded only while livetel's `include_args`
//! is on, and nothing at all unless the calling crate's `profiling` feature is enabled.
//!
//! The expansion wraps everything it adds in `#[cfg(feature = "profiling")]`. Because a proc macro's output is
//! compiled as part of the crate that uses it, that `cfg` reads *the user's* feature: a build without it holds
//! the original function and no span callsite.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{FnArg, Ident, ItemFn, LitStr, Pat, Token, parse_macro_input};

/// See `livetel::instrument`.
#[proc_macro_attribute]
pub fn instrument(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(attr as Args);
    let func = parse_macro_input!(item as ItemFn);
    expand(args, func)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[derive(Default)]
struct Args {
    name: Option<LitStr>,
    level: Option<LitStr>,
    target: Option<LitStr>,
    skip: Vec<Ident>,
    skip_all: bool,
    fields: Option<TokenStream2>,
    /// Record an `Err` return: `error` field, `otel.status_code = "ERROR"`, and an ERROR event.
    err: bool,
    /// Record the return value (`Debug`) as an event, while `include_args` is on.
    ret: bool,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "name" => {
                    input.parse::<Token![=]>()?;
                    args.name = Some(input.parse()?);
                }
                "level" => {
                    input.parse::<Token![=]>()?;
                    args.level = Some(input.parse()?);
                }
                "skip" => {
                    let content;
                    syn::parenthesized!(content in input);
                    args.skip = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?
                        .into_iter()
                        .collect();
                }
                "target" => {
                    input.parse::<Token![=]>()?;
                    args.target = Some(input.parse()?);
                }
                "skip_all" => args.skip_all = true,
                "err" => args.err = true,
                "ret" => args.ret = true,
                "fields" => {
                    let content;
                    syn::parenthesized!(content in input);
                    args.fields = Some(content.parse()?);
                }
                other => {
                    let msg = format!(
                        "unknown argument `{other}`: expected name, level, target, skip, skip_all, fields, err or ret"
                    );
                    return Err(syn::Error::new(key.span(), msg));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

fn level_tokens(level: Option<&LitStr>) -> syn::Result<TokenStream2> {
    let name = level
        .map_or_else(|| "info".to_owned(), LitStr::value)
        .to_ascii_uppercase();
    match name.as_str() {
        "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" => {
            let ident = Ident::new(&name, Span::call_site());
            Ok(quote!(::livetel::__private::tracing::Level::#ident))
        }
        _ => Err(syn::Error::new_spanned(
            level.to_token_stream(),
            "level must be trace, debug, info, warn or error",
        )),
    }
}

/// The arguments recorded as fields: plain identifiers, minus `self` and skipped ones.
fn recorded_args<'a>(func: &'a ItemFn, args: &'a Args) -> impl Iterator<Item = &'a Ident> + 'a {
    func.sig.inputs.iter().filter_map(move |input| match input {
        FnArg::Typed(t) if !args.skip_all => match &*t.pat {
            Pat::Ident(p) if !args.skip.contains(&p.ident) => Some(&p.ident),
            _ => None,
        },
        _ => None,
    })
}

fn expand(args: Args, func: ItemFn) -> syn::Result<TokenStream2> {
    let level = level_tokens(args.level.as_ref())?;
    let target = args
        .target
        .as_ref()
        .map_or_else(|| quote!(module_path!()), ToTokens::to_token_stream);
    let span = span_tokens(&args, &func, &level, &target);
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let outcome = (args.err || args.ret).then(|| outcome_tokens(&args, &level, &target));
    let body = match (sig.asyncness.is_some(), outcome) {
        (true, None) => quote! {
            #[cfg(feature = "profiling")]
            let __livetel_span = #span;
            let __livetel_fut = async move #block;
            #[cfg(feature = "profiling")]
            let __livetel_fut = ::livetel::__private::tracing::Instrument::instrument(__livetel_fut, __livetel_span);
            __livetel_fut.await
        },
        (true, Some(outcome)) => quote! {
            #[cfg(feature = "profiling")]
            {
                let __livetel_span = #span;
                let __livetel_fut = async move #block;
                let __livetel_result = ::livetel::__private::tracing::Instrument::instrument(
                    __livetel_fut,
                    ::core::clone::Clone::clone(&__livetel_span),
                )
                .await;
                let __livetel_guard = __livetel_span.enter();
                #outcome
                __livetel_result
            }
            #[cfg(not(feature = "profiling"))]
            #block
        },
        (false, None) => quote! {
            #[cfg(feature = "profiling")]
            let __livetel_span = #span;
            #[cfg(feature = "profiling")]
            let __livetel_guard = __livetel_span.enter();
            #block
        },
        (false, Some(outcome)) => {
            let ret_ty = closure_return_type(&sig.output);
            quote! {
                #[cfg(feature = "profiling")]
                {
                    let __livetel_span = #span;
                    let __livetel_guard = __livetel_span.enter();
                    #[allow(clippy::redundant_closure_call)]
                    let __livetel_result = (move || #ret_ty #block)();
                    #outcome
                    __livetel_result
                }
                #[cfg(not(feature = "profiling"))]
                #block
            }
        }
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}

/// The `span!` call: arguments as fields while `include_args` is on, plus `error` / `otel.status_code` slots for
/// `err`.
fn span_tokens(args: &Args, func: &ItemFn, level: &TokenStream2, target: &TokenStream2) -> TokenStream2 {
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| LitStr::new(&func.sig.ident.to_string(), func.sig.ident.span()));
    let fields = recorded_args(func, args).map(|a| {
        let key = a.to_string().trim_start_matches("r#").to_owned();
        let key = Ident::new(&key, a.span());
        quote! {
            #key = if ::livetel::__private::include_args() {
                ::core::option::Option::Some(::livetel::__private::tracing::field::debug(&#a))
            } else {
                ::core::option::Option::None
            },
        }
    });
    let extra = args.fields.clone().map(|f| quote!(#f,));
    let err_slots = args.err.then(|| {
        quote! {
            error = ::livetel::__private::tracing::field::Empty,
            otel.status_code = ::livetel::__private::tracing::field::Empty,
        }
    });
    quote! {
        ::livetel::__private::tracing::span!(target: #target, #level, #name, #(#fields)* #err_slots #extra)
    }
}

/// What `err` and `ret` do with `__livetel_result`, inside the span.
fn outcome_tokens(args: &Args, level: &TokenStream2, target: &TokenStream2) -> TokenStream2 {
    let tracing = quote!(::livetel::__private::tracing);
    let err = args.err.then(|| {
        quote! {
            if let ::core::result::Result::Err(__livetel_error) = &__livetel_result {
                __livetel_span.record("error", #tracing::field::display(__livetel_error));
                __livetel_span.record("otel.status_code", "ERROR");
                #tracing::event!(target: #target, #tracing::Level::ERROR, error = %__livetel_error);
            }
        }
    });
    let ret = args.ret.then(|| {
        quote! {
            if ::livetel::__private::include_args() {
                #tracing::event!(target: #target, #level, return = ?&__livetel_result);
            }
        }
    });
    quote!(#err #ret)
}

/// `-> T` for the closure that runs a sync body under `err`/`ret` (so `?` inside it knows its error type);
/// nothing when `T` holds an `impl Trait` anywhere (`Result<impl Iterator, E>`), which a closure cannot name.
fn closure_return_type(output: &syn::ReturnType) -> TokenStream2 {
    match output {
        syn::ReturnType::Type(_, ty) if !names_impl_trait(ty.to_token_stream()) => quote!(-> #ty),
        _ => quote!(),
    }
}

/// True when the tokens contain the keyword `impl`, at any depth.
fn names_impl_trait(tokens: TokenStream2) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == "impl",
        proc_macro2::TokenTree::Group(g) => names_impl_trait(g.stream()),
        _ => false,
    })
}

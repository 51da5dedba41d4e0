//! `#[livetel::instrument]`: a span per call whose arguments are recorded only while livetel's `include_args`
//! is on, and nothing at all unless the calling crate's `profiling` feature is enabled.
//!
//! The expansion wraps everything it adds in `#[cfg(feature = "profiling")]`. Because a proc macro's output is
//! compiled as part of the crate that uses it, that `cfg` reads *the user's* feature: a build without it holds
//! the original function and no span callsite.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{parse_macro_input, FnArg, Ident, ItemFn, LitStr, Pat, Token};

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
    skip: Vec<Ident>,
    skip_all: bool,
    fields: Option<TokenStream2>,
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
                "skip_all" => args.skip_all = true,
                "fields" => {
                    let content;
                    syn::parenthesized!(content in input);
                    args.fields = Some(content.parse()?);
                }
                other => {
                    let msg =
                        format!("unknown argument `{other}`: expected name, level, skip, skip_all or fields");
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
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| LitStr::new(&func.sig.ident.to_string(), func.sig.ident.span()));
    let recorded: Vec<&Ident> = recorded_args(&func, &args).collect();
    let fields = recorded.iter().map(|a| {
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
    let span = quote! {
        ::livetel::__private::tracing::span!(target: module_path!(), #level, #name, #(#fields)* #extra)
    };
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let body = if sig.asyncness.is_some() {
        quote! {
            #[cfg(feature = "profiling")]
            let __livetel_span = #span;
            let __livetel_fut = async move #block;
            #[cfg(feature = "profiling")]
            let __livetel_fut = ::livetel::__private::tracing::Instrument::instrument(__livetel_fut, __livetel_span);
            __livetel_fut.await
        }
    } else {
        quote! {
            #[cfg(feature = "profiling")]
            let __livetel_span = #span;
            #[cfg(feature = "profiling")]
            let __livetel_guard = __livetel_span.enter();
            #block
        }
    };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    })
}

//! The language the server answers in, and its error messages in Chinese.
//!
//! A request's language is the one the user chose in the console — kept with the
//! session in the index (`PUT /api/session/language`) and mirrored in the
//! `vidimus_lang` cookie so that even a request refused before any session lookup
//! is answered in it — else the first language of `Accept-Language` we speak, else
//! English. Responses say which in `Content-Language`.
//!
//! Error bodies are written in English by the handlers ([`crate::error::ApiError`]
//! may carry its own Chinese text); for a Chinese reader the body is rewritten here:
//! the handler's Chinese text, else a Chinese sentence for the error's code.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use vidimus_core::lang::Lang;

use crate::error::ErrorText;

/// The cookie holding the chosen language (not a secret: HttpOnly is not needed).
pub const COOKIE: &str = "vidimus_lang";

/// The language chosen in the `vidimus_lang` cookie, if any.
pub fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .and_then(|(_, v)| Lang::parse(v))
}

/// The most wanted language of an `Accept-Language` header that we speak: tags with
/// `q=0` (not wanted) or an unreadable weight are left out, and only the first 16 tags
/// are read (a header is not a way to make the server sort thousands).
pub fn accept_language(headers: &HeaderMap) -> Option<Lang> {
    let raw = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let first: Vec<&str> = raw.split(',').take(16).collect();
    accept_language::parse_with_quality(&first.join(","))
        .into_iter()
        .filter(|(_, q)| q.is_finite() && *q > 0.0)
        .find_map(|(tag, _)| Lang::parse(&tag))
}

/// The language a request is answered in, once its session is read: the one
/// the session keeps, else the cookie's, else `Accept-Language`'s, else English.
/// The extractor of the logged-in user decides it and leaves it here (a slot in the
/// request's extensions) so that what [`speak`] rewrites follows the same choice.
#[derive(Clone, Default)]
pub struct Decided(pub std::sync::Arc<std::sync::Mutex<Option<Lang>>>);

/// The language of a request whose session is known (`session`: the session's own).
pub fn session_lang(session: Option<&str>, headers: &HeaderMap) -> Lang {
    session
        .and_then(Lang::parse)
        .or_else(|| cookie_lang(headers))
        .or_else(|| accept_language(headers))
        .unwrap_or_default()
}

/// The language of a request before its session is known: the cookie, else
/// `Accept-Language`, else English.
pub fn request_lang(headers: &HeaderMap) -> Lang {
    cookie_lang(headers)
        .or_else(|| accept_language(headers))
        .unwrap_or_default()
}

/// The `Set-Cookie` value remembering `lang` (a year; SameSite=Strict).
pub fn set_cookie(lang: Lang, secure: bool) -> HeaderValue {
    let v = format!(
        "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict{}",
        lang.tag(),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).expect("a language tag is a valid header value")
}

/// Answers in `lang`: sets `Content-Language` and rewrites an error body for a
/// Chinese reader.
pub fn speak(mut resp: Response, lang: Lang) -> Response {
    resp.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    if lang == Lang::Zh
        && let Some(text) = resp.extensions_mut().remove::<ErrorText>()
    {
        // The handler's own Chinese; else a sentence for the code, the English
        // details kept beside it (which field, which value).
        let body = match text.zh {
            Some(zh) => serde_json::json!({"error": {"code": text.code, "message": zh}}),
            None => {
                serde_json::json!({"error": {"code": text.code, "message": error_zh(text.code), "detail": text.en}})
            }
        };
        let len = body.to_string();
        *resp.body_mut() = axum::body::Body::from(len.clone());
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len.len()));
    }
    resp
}

/// A Chinese sentence for each error code (the handler's details are in the English
/// message; these say what happened and what to do).
pub fn error_zh(code: &str) -> &'static str {
    match code {
        "unauthenticated" => "请先登录。",
        "csrf" => "请求缺少或带有错误的 CSRF 令牌，请刷新页面后重试。",
        "bad_credentials" | "login_failed" => "用户名或密码错误。",
        "totp_required" => "请输入动态验证码。",
        "rate_limited" => "失败次数过多，请稍后再试。",
        "too_many_refusals" => "短时间内被拒绝的请求过多，请稍后再试；每次尝试均已登记。",
        "bad_request" => "请求有误。",
        "bad_time" => {
            "时间格式有误或超出范围；请使用带时区的时间，例如 2026-12-01T16:30:00+08:00。"
        }
        "bad_range" => "请求的字节范围无效。",
        "range_too_large" => "请求的时间段过长。",
        "camera_not_found" => "找不到该摄像机。",
        "system_not_found" => "找不到该系统。",
        "system_exists" => "该系统已存在。",
        "not_found" => "找不到所请求的内容。",
        "no_recording" => "该时间段没有录像。",
        "still_recording" => "该段录像仍在录制中，录制完成后即可导出。",
        "no_grant" => "没有授权覆盖此请求：请提交调取申请。此次尝试已登记。",
        "view_only" => "您的授权仅限查看，不得复制或导出。",
        "forbidden" | "not_allowed" | "admin" => "您无权执行此操作。",
        "refused_by_policy" => "访问策略拒绝了此请求。",
        "refused_by_rulebook" => "依照规则库，此项登记不被允许。",
        "retention_below_minimum" => "保存期限低于法定最短期限。",
        "invalid_registry_entry" => "登记内容有误。",
        "no_such_collection" => "没有这类登记项。",
        "unknown_district" => "未知的行政区。",
        "whereabouts_required" => "请说明调取地点。",
        "work_id" => "请填写工作证号。",
        "defined_in_config" => "此项在配置文件中定义，不能在此修改。",
        "grant_ambiguous" => "有多个授权可用，请指定其中一个。",
        "bad_origin" => "请求来源不被允许。",
        "password_check_failed" => "密码验证失败。",
        "method_not_allowed" => "不支持该请求方法。",
        "body_too_large" => "请求内容过大。",
        "unsupported_media_type" => "不支持的内容类型。",
        "invalid_body" => "请求内容格式有误。",
        "length_required" => "请求缺少长度。",
        "busy" => "服务器繁忙，请稍后再试。",
        "internal" => "服务器内部错误，详情见服务器日志。",
        _ => "请求未能完成。",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn unwanted_and_excess_tags_are_not_taken() {
        // q=0 means "not this one".
        assert_eq!(
            request_lang(&headers(&[("accept-language", "zh-CN;q=0, en;q=0.5")])),
            Lang::En
        );
        assert_eq!(
            request_lang(&headers(&[("accept-language", "zh-CN;q=0")])),
            Lang::En
        );
        // Garbage weights are skipped, not sorted.
        assert_eq!(
            request_lang(&headers(&[("accept-language", "fr;q=NaN, zh;q=0.3")])),
            Lang::Zh
        );
        // Only the first 16 tags are read.
        let many = format!("{}, zh", vec!["fr"; 40].join(", "));
        assert_eq!(
            request_lang(&headers(&[("accept-language", many.as_str())])),
            Lang::En
        );
    }

    #[test]
    fn the_session_wins_over_the_cookie_and_the_header() {
        let h = headers(&[("accept-language", "en"), ("cookie", "vidimus_lang=en")]);
        assert_eq!(session_lang(Some("zh-CN"), &h), Lang::Zh);
        assert_eq!(session_lang(None, &h), Lang::En);
        let h = headers(&[("accept-language", "en"), ("cookie", "vidimus_lang=zh-CN")]);
        assert_eq!(session_lang(None, &h), Lang::Zh);
        assert_eq!(session_lang(Some("xx"), &h), Lang::Zh);
    }

    #[test]
    fn the_cookie_wins_then_accept_language_then_english() {
        assert_eq!(request_lang(&headers(&[])), Lang::En);
        assert_eq!(
            request_lang(&headers(&[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")])),
            Lang::Zh
        );
        assert_eq!(
            request_lang(&headers(&[(
                "accept-language",
                "fr-FR, en;q=0.5, zh;q=0.4"
            )])),
            Lang::En
        );
        // Traditional Chinese is not what we write.
        assert_eq!(
            request_lang(&headers(&[("accept-language", "zh-TW")])),
            Lang::En
        );
        assert_eq!(
            request_lang(&headers(&[
                ("accept-language", "zh-CN"),
                ("cookie", "vidimus_session=x; vidimus_lang=en")
            ])),
            Lang::En
        );
        assert_eq!(
            request_lang(&headers(&[("cookie", "vidimus_lang=zh-CN")])),
            Lang::Zh
        );
        // A hostile value is ignored.
        assert_eq!(
            request_lang(&headers(&[("cookie", "vidimus_lang=<script>")])),
            Lang::En
        );
    }
}

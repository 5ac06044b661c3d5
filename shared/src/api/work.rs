//! `GET /work` and `POST /work`, for the verified caller only.

use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use serde::Deserialize;

use super::caller::IdentifyCaller;
use crate::{
    clock::{now_rfc3339, unix_now},
    error::{ApiError, respond},
    http,
    work::{ListWorkItems, PageRequest, PutWorkItem, WorkItem, WorkItemView, parse_title},
};

/// `GET /work?limit=&cursor=`: the caller's items, newest first, and the next page's cursor.
pub async fn list_work<S: ListWorkItems, C: IdentifyCaller>(
    items: &S,
    callers: &C,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(list(items, callers, &request).await)
}

#[tracing::instrument(name = "list work", skip_all)]
async fn list<S: ListWorkItems, C: IdentifyCaller>(
    items: &S,
    callers: &C,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let identity = callers.caller(request, unix_now()).await?;
    let query = request.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let page = PageRequest::parse(param("limit"), param("cursor"))?;
    let page = items.list_work_items(&identity.user_id, &page).await?;
    let result: Vec<WorkItemView> = page.items.into_iter().map(Into::into).collect();
    Ok(http::json_response(
        StatusCode::OK,
        &serde_json::json!({
            "Status": "Success",
            "result": result,
            "next": page.next.map(|c| c.encode()),
        }),
    ))
}

/// The body of `POST /work`.
#[derive(Deserialize)]
pub struct NewWorkItem {
    pub title: String,
}

/// `POST /work {"title"}`: `201` with the stored item.
pub async fn create_work<S: PutWorkItem, C: IdentifyCaller>(
    items: &S,
    callers: &C,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    respond(create(items, callers, &request).await)
}

#[tracing::instrument(name = "create work", skip_all)]
async fn create<S: PutWorkItem, C: IdentifyCaller>(
    items: &S,
    callers: &C,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let identity = callers.caller(request, unix_now()).await?;
    let NewWorkItem { title } = http::json_body(request)?;
    let item = WorkItem {
        user_id: identity.user_id,
        item_id: ulid::Ulid::new().to_string(),
        title: parse_title(title)?,
        created_at: now_rfc3339(),
    };
    items.put_work_item(&item).await?;
    Ok(http::envelope(StatusCode::CREATED, "Success", WorkItemView::from(item)))
}

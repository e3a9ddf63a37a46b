//! The one place where the core's refusals become HTTP answers: the status code for each
//! kind of [`CoreError`], with the core's message as the JSON body (`{"message": ...}`).
//! Handlers return `Result<_, ApiError>` and use `?` on core calls.

use corral_http::error::ApiError;

use super::core_error::CoreError;

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::Invalid(message) => ApiError::bad_request(message),
            CoreError::Forbidden(message) => ApiError::forbidden(message),
            CoreError::NotFound(message) => ApiError::not_found(message),
            CoreError::Conflict(message) => ApiError::conflict(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_refusal_has_its_status_and_keeps_its_message() {
        for (error, status) in [
            (CoreError::invalid("bad"), 400),
            (CoreError::forbidden("no"), 403),
            (CoreError::not_found("where"), 404),
            (CoreError::conflict("busy"), 409),
        ] {
            let message = error.to_string();
            let answer = ApiError::from(error);
            assert_eq!(answer.status.as_u16(), status);
            assert_eq!(answer.message, message);
        }
    }
}

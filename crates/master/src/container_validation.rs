//! Containers that Corral cannot honour are refused, never run as plain processes: a task
//! that asks for an image would otherwise see the host's root filesystem (issue 15).
//!
//! Shapes from apache/mesos `include/mesos/v1/mesos.proto`: `ContainerInfo { type: DOCKER |
//! MESOS, docker: DockerInfo { image }, mesos: MesosInfo { image: Image { type: APPC | DOCKER,
//! appc: { name }, docker: { name } } } }`.

use serde_json::Value;

/// `Err` with the reason when `container` (a TaskInfo's or ExecutorInfo's `container`)
/// names an image or a containerizer Corral does not have.
pub fn validate_container(owner: &str, container: Option<&Value>) -> Result<(), String> {
    let Some(container) = container else {
        return Ok(());
    };
    let kind = container.get("type").and_then(Value::as_str);
    if let Some(image) = image_name(container) {
        return Err(format!(
            "{owner}'s ContainerInfo names the image '{image}': container images are not \
             supported yet (Corral runs the command on the agent's own filesystem); remove \
             'container' or run the task on Mesos"
        ));
    }
    match kind {
        None | Some("MESOS") => Ok(()),
        Some("DOCKER") => Err(format!(
            "{owner}'s ContainerInfo is of type DOCKER: container images are not supported \
             yet and Corral has no Docker containerizer"
        )),
        Some(other) => Err(format!(
            "{owner}'s ContainerInfo type '{other}' is not supported (only MESOS, without an \
             image)"
        )),
    }
}

/// The image a ContainerInfo names, in any of the places Mesos reads one.
fn image_name(container: &Value) -> Option<String> {
    let docker = container.pointer("/docker/image");
    let mesos_docker = container.pointer("/mesos/image/docker/name");
    let mesos_appc = container.pointer("/mesos/image/appc/name");
    if let Some(name) = [docker, mesos_docker, mesos_appc]
        .into_iter()
        .flatten()
        .find_map(Value::as_str)
    {
        return Some(name.to_string());
    }
    // An image with no name we can read is still an image.
    container
        .pointer("/mesos/image")
        .map(|image| image.to_string())
}

#[cfg(test)]
mod tests {
    use super::validate_container;
    use serde_json::json;

    #[test]
    fn images_and_docker_are_refused_plain_mesos_passes() {
        let refused = [
            // DockerInfo, the Docker containerizer's shape.
            json!({"type": "DOCKER", "docker": {"image": "alpine:3.19"}}),
            // The Mesos containerizer with a Docker image (Marathon's "MESOS" + image).
            json!({"type": "MESOS", "mesos": {"image": {"type": "DOCKER", "docker": {"name": "alpine:3.19"}}}}),
            json!({"type": "MESOS", "mesos": {"image": {"type": "APPC", "appc": {"name": "example.com/alpine"}}}}),
        ];
        for container in &refused {
            let error = validate_container("Task", Some(container)).expect_err("refused");
            assert!(
                error.contains("container images are not supported yet"),
                "{error}"
            );
        }
        let docker_without_image = json!({"type": "DOCKER"});
        let error = validate_container("Task", Some(&docker_without_image)).expect_err("refused");
        assert!(error.contains("DOCKER"), "{error}");
        for ok in [json!({"type": "MESOS", "volumes": []}), json!({})] {
            assert_eq!(validate_container("Task", Some(&ok)), Ok(()));
        }
        assert_eq!(validate_container("Task", None), Ok(()));
    }
}

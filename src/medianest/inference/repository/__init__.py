"""Every SQL statement of the inference service: jobs and their queue, faces and labels."""

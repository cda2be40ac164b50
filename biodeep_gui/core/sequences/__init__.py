"""DNA sequences -> transcription-factor binding: loaders, dataset, models, pipeline, interpretation."""

enum _EcomMessagingPlaceholder {}

// GridPatrol's Android shell. Open this folder in Android Studio (see README.md).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "gridpatrol-android"

// The generated bindings (`cargo xtask bindings` writes ../build/bindings/…):
//   :bindings      Android library, the kotlin-android flavour (SystemCleaner / JNA cleaner) + JNA's AAR
//   :bindings-jvm  JVM library, the flavour tested on Linux (java.lang.ref.Cleaner)
// :shell (plain Kotlin/JVM) compiles against :bindings-jvm; the app ships :bindings. Both
// flavours have the same classes and signatures (bindings/README.md, "Kotlin vs Android flavour").
include(":bindings", ":bindings-jvm", ":shell", ":app")
project(":bindings").projectDir = file("gradle/bindings")
project(":bindings-jvm").projectDir = file("gradle/bindings-jvm")
